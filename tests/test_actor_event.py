"""The actor-and-event labels of the corpus briefs, and the script that scores briefs against them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
from actor_event import ceiling, load_labels, normalise, score  # noqa: E402

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


def test_score_counts_hits_misses_and_unmatched_briefs() -> None:
    labels = {"a": {"kim fled south.": 1, "it rained.": 0}, "b": {"talks ended.": 1}, "c": {"x happened.": 0}}
    got = score(["a", "b", "c"], ["Kim  fled South.", "A reworded brief.", "X happened."], labels)
    assert (got["hits"], got["n"], got["unlabelled"]) == (1, 3, ["b"])
    assert got["rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert ceiling(["a", "b", "c"], labels)["hits"] == 2


def test_a_malformed_label_line_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "a", "sentences": [{"text": "Kim fled.", "actor_event": 1}]}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels.jsonl:2"):
        load_labels(bad)
