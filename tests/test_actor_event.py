"""The actor-and-event labels of the corpus briefs, and the script that scores briefs against them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
from actor_event import (  # noqa: E402
    CORPUS_SPLITS, REAL_SPLITS, ceiling, extractable, lead, load_labels, load_split, normalise, score, sentence_key, stale,
)

SPLITS = [p.stem for p in sorted((ROOT / "data" / "brief_labels").glob("*.jsonl"))]
SHARED = (ROOT.parent / "shared" / "data" / "summaries").is_dir()


def test_every_corpus_split_and_both_real_sets_are_labelled() -> None:
    assert sorted(SPLITS) == sorted([*CORPUS_SPLITS, *REAL_SPLITS])


@pytest.mark.parametrize("split", list(REAL_SPLITS))
def test_real_news_labels_hold_no_shared_text(split: str) -> None:
    """The shared data is never copied into the project: real-news labels name sentences by hash."""
    for line in (ROOT / "data" / "brief_labels" / f"{split}.jsonl").open(encoding="utf-8"):
        rec = json.loads(line)
        assert set(rec) == {"set", "id", "actor_event", "sentences"}, rec["id"]
        assert all(set(s) == {"sha1", "actor_event"} and s["actor_event"] in (0, 1) for s in rec["sentences"]), rec["id"]


@pytest.mark.parametrize("split", CORPUS_SPLITS)
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
    if split in REAL_SPLITS and not SHARED:
        pytest.skip("the real-news sets are read from ../shared/data, which is not beside this checkout")
    rows = load_split(split)
    labels = load_labels(ROOT / "data" / "brief_labels" / f"{split}.jsonl")
    sentences = extractable(rows)
    assert stale(sentences, labels) == []
    assert sorted(sentences) == sorted(labels)
    assert all(sentence_key(lead(s)) in labels[k] for k, s in sentences.items())


def test_stale_finds_articles_whose_sentences_changed() -> None:
    row = {"id": "a", "title": "Talks", "text": "Envoys from both countries met in Geneva on Monday for talks. They agreed to meet again in March next year."}
    row["key"] = row["id"]
    sentences = {sentence_key(s): 0 for s in ("Envoys from both countries met in Geneva on Monday for talks.",
                                           "They agreed to meet again in March next year.")}
    assert stale(extractable([row]), {"a": sentences}) == []
    assert stale(extractable([row]), {"a": dict(list(sentences.items())[:1])}) == ["a"]
    assert stale(extractable([row]), {}) == ["a"]


def test_score_counts_hits_misses_and_unmatched_briefs() -> None:
    labels = {"a": {sentence_key("kim fled south."): 1, sentence_key("it rained."): 0}, "b": {sentence_key("talks ended."): 1},
              "c": {sentence_key("x happened."): 0}}
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


def test_hashed_labels_load_under_set_and_id(tmp_path: Path) -> None:
    path = tmp_path / "real.jsonl"
    path.write_text(json.dumps({"set": "wire", "id": "7", "actor_event": "Kim fled",
                                "sentences": [{"sha1": sentence_key("Kim fled."), "actor_event": 1}]}) + "\n", encoding="utf-8")
    labels = load_labels(path)
    assert labels == {"wire/7": {sentence_key("kim  fled."): 1}}
    assert score(["wire/7"], ["Kim fled."], labels)["hits"] == 1


def test_ranker_comparison_scores_the_picked_sentence() -> None:
    import numpy as np
    from ranker_objectives import evaluate

    from defsum.salience import FEATURES

    def feats(*first: float) -> np.ndarray:  # one informative feature, the rest zero
        out = np.zeros((len(first), len(FEATURES)))
        out[:, 0] = first
        return out

    arts = [{"feats": feats(0.0, 1.0), "y": np.array([0.0, 1.0]), "rouge": np.array([0.2, 0.4])},
            {"feats": feats(1.0, 0.0), "y": np.array([0.0, 1.0]), "rouge": np.array([0.1, 0.3])}]
    assert evaluate(arts, np.eye(len(FEATURES))[0]) == {"n": 2, "hits": 1, "rate": 0.5, "rougeL": 25.0}
    assert evaluate(arts, None)["hits"] == 0  # the lead: the first candidate of each
