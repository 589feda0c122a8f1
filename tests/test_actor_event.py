"""The actor-and-event labels of the corpus briefs, and the script that scores briefs against them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
from actor_event import ceiling, extractable, lead, load_labels, normalise, score, stale  # noqa: E402

SPLITS = [p.stem for p in sorted((ROOT / "data" / "brief_labels").glob("*.jsonl"))]


def test_both_evaluation_splits_are_labelled() -> None:
    assert SPLITS == ["test", "validation"]


@pytest.mark.parametrize("split", SPLITS)
def test_labels_cover_the_split_and_quote_its_articles(split: str) -> None:
    articles = [json.loads(line) for line in (ROOT / "data" / "corpus" / f"{split}.jsonl").open(encoding="utf-8")]
    records = [json.loads(line) for line in (ROOT / "data" / "brief_labels" / f"{split}.jsonl").open(encoding="utf-8")]
    assert [r["id"] for r in records] == [a["id"] for a in articles]
    for rec, art in zip(records, articles):
        source = normalise(f"{art['title']} {art['text']}")
        assert rec["sentences"] and rec["actor_event"].strip(), rec["id"]
        for s in rec["sentences"]:
            assert s["actor_event"] in (0, 1), rec["id"]
            assert normalise(s["text"]).rstrip(".!?,;:\"'") in source, f"{rec['id']}: {s['text'][:60]!r} is not in the article"


@pytest.mark.parametrize("split", SPLITS)
def test_labels_are_for_the_sentences_the_summariser_extracts_today(split: str) -> None:
    """If defsum.salience.candidates changes, the labels no longer describe what a brief can be."""
    rows = [json.loads(line) for line in (ROOT / "data" / "corpus" / f"{split}.jsonl").open(encoding="utf-8")]
    labels = load_labels(ROOT / "data" / "brief_labels" / f"{split}.jsonl")
    sentences = extractable(rows)
    assert stale(sentences, labels) == []
    assert all(normalise(lead(sentences[r["id"]])) in labels[r["id"]] for r in rows)


def test_stale_finds_articles_whose_sentences_changed() -> None:
    row = {"id": "a", "title": "Talks", "text": "Envoys from both countries met in Geneva on Monday for talks. They agreed to meet again in March next year."}
    sentences = {normalise(s): 0 for s in ("Envoys from both countries met in Geneva on Monday for talks.",
                                           "They agreed to meet again in March next year.")}
    assert stale(extractable([row]), {"a": sentences}) == []
    assert stale(extractable([row]), {"a": dict(list(sentences.items())[:1])}) == ["a"]
    assert stale(extractable([row]), {}) == ["a"]


def test_score_counts_hits_misses_and_unmatched_briefs() -> None:
    labels = {"a": {"kim fled south.": 1, "it rained.": 0}, "b": {"talks ended.": 1}, "c": {"x happened.": 0}}
    got = score(["a", "b", "c"], ["Kim  fled South.", "A reworded brief.", "X happened."], labels)
    assert (got["hits"], got["n"], got["unlabelled"]) == (1, 3, ["b"])
    assert got["rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert ceiling(["a", "b", "c"], labels)["hits"] == 2
    with pytest.raises(ValueError):  # a system that returned too few briefs
        score(["a", "b"], ["Kim fled south."], labels)


@pytest.mark.parametrize("second, message", [
    ('{"id": "b"}', "needs 'id' and 'sentences'"),
    ('{"id": "b", "sentences": [{"text": "Rain fell.", "actor_event": 2}]}', "must be 0 or 1"),
    ('{"id": "a", "sentences": [{"text": "Rain fell.", "actor_event": 0}]}', "labelled twice"),
    ('{"id": "b", "sentences": [{"text": "Rain fell.", "actor_event": 0}, {"text": "rain  fell.", "actor_event": 1}]}', "listed twice"),
])
def test_a_bad_label_line_names_the_file_line_and_fault(tmp_path: Path, second: str, message: str) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "a", "sentences": [{"text": "Kim fled.", "actor_event": 1}]}\n' + second + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"labels.jsonl:2: .*{message}"):
        load_labels(bad)
