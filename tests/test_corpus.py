"""The seed corpus: schema, vocabulary, brief length, frozen test split, no leaks across splits."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from defsum.data import read_records
from defsum.labels import LABELS

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
SPLITS = ("train", "validation", "test")
SHARED = CORPUS.parents[2] / "shared" / "data"
STYLES = {"wire", "analysis", "brief", "state_media", "press_release", "op_ed", "feature"}


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {name: read_records(CORPUS / f"{name}.jsonl") for name in SPLITS}


def test_test_split_is_frozen():
    expected = (CORPUS / "test.sha256").read_text().split()[0]
    assert hashlib.sha256((CORPUS / "test.jsonl").read_bytes()).hexdigest() == expected


def test_schema_and_vocabulary(splits):
    ids = set()
    for name, rows in splits.items():
        for r in rows:
            assert set(r) == {"id", "title", "text", "date", "labels", "primary", "brief", "source_style", "story"}, r["id"]
            assert r["id"] not in ids
            ids.add(r["id"])
            assert set(r["labels"]) <= set(LABELS)
            assert r["primary"] in (r["labels"] or ["none"])
            assert r["source_style"] in STYLES
            assert r["date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"])
            assert 120 <= len(r["text"].split()) <= 700, r["id"]
            assert r["title"].strip() and r["text"].strip()


def test_briefs(splits):
    for r in itertools.chain(*splits.values()):
        words = r["brief"].split()
        assert 5 <= len(words) <= 45, r["id"]
        assert r["brief"] != r["brief"].lower(), r["id"]  # cased
        assert len(re.findall(r"(?<=[a-z0-9)\"'])[.!?](\s|$)", r["brief"])) <= 3, r["id"]  # one or two sentences


def test_stories_do_not_cross_splits(splits):
    where = defaultdict(set)
    for name, rows in splits.items():
        for r in rows:
            where[r["story"]].add(name)
    assert all(len(s) == 1 for s in where.values())


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_no_exact_or_near_duplicates_across_splits(splits):
    docs = [(name, r["id"], _shingles(r["text"])) for name, rows in splits.items() for r in rows]
    index = defaultdict(set)
    for k, (_, _, sh) in enumerate(docs):
        for s in sh:
            index[s].add(k)
    for k, (name, ident, sh) in enumerate(docs):
        shared = defaultdict(int)
        for s in sh:
            for other in index[s]:
                if other > k and docs[other][0] != name:
                    shared[other] += 1
        for other, n in shared.items():
            jaccard = n / len(sh | docs[other][2])
            assert jaccard < 0.3, f"{ident} ({name}) and {docs[other][1]} ({docs[other][0]}) overlap {jaccard:.2f}"


def test_resplitting_the_corpus_reproduces_the_splits(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(root / "training/build_corpus.py"), "--raw", str(CORPUS), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in SPLITS:
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (CORPUS / f"{name}.jsonl").read_bytes()


def test_read_pairs_specs(tmp_path):
    from defsum.data import id_bucket, parse_pair_spec, read_pair_spec, read_pairs

    path = tmp_path / "pairs.jsonl"
    rows = [{"id": f"r{i}", "document": f"Headline {i}\nBody {i}.", "summary": f"S{i}.", "src": "a" if i % 2 else "b"} for i in range(40)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = parse_pair_spec(f"{path},title=@firstline,filter=src=a,heldout=1")
    got = read_pair_spec(spec)
    assert got and all(id_bucket(r["id"]) == 0 and int(r["id"][1:]) % 2 for r in got)
    assert got[0]["title"].startswith("Headline") and got[0]["text"].startswith("Body")
    train = read_pairs(path, text="document", reference="summary", title=None, buckets="2-9")
    held = read_pairs(path, text="document", reference="summary", buckets="0+1")
    assert train and held and {r["id"] for r in train}.isdisjoint(r["id"] for r in held)
    assert len(train) + len(held) == len(rows)
    assert len(read_pairs(path, text="document", reference="summary", limit=5)) == 5
    with pytest.raises(ValueError, match="not one of"):
        parse_pair_spec(f"{path},colour=red")
    with pytest.raises(ValueError, match="heldout=1 means buckets=0"):
        parse_pair_spec(f"{path},heldout=1,buckets=2-9")
    assert parse_pair_spec(f"{path},filter=src=a,buckets=1")["name"] == "pairs[filter=src=a,buckets=1]"
    with pytest.raises(ValueError, match="buckets"):
        read_pairs(path, text="document", reference="summary", buckets="x")
    with pytest.raises(ValueError, match=r"pairs.jsonl:2: record \(id r1\) has no text in field 'brief'"):
        read_pairs(path, text="document", reference="brief", filter="src=a")  # line numbers survive the filter
    assert read_pairs(path, text="document", reference="brief", skip_empty=True) == []
    no_ids = tmp_path / "no_ids.jsonl"
    no_ids.write_text("".join(json.dumps({"text": "A.", "brief": "B."}) + "\n" for _ in range(3)), encoding="utf-8")
    with pytest.raises(ValueError, match="no_ids.jsonl:1: no 'id' field"):
        read_pairs(no_ids, buckets="0")


def test_hard_negatives_are_valid_training_records(splits):
    rows = read_records(CORPUS.parent / "hard_negatives" / "train.jsonl")
    corpus_ids = {r["id"] for rows_ in splits.values() for r in rows_}
    corpus_texts = {" ".join(r["text"].split()).lower() for rows_ in splits.values() for r in rows_}
    assert len(rows) == len({r["id"] for r in rows}) and not corpus_ids & {r["id"] for r in rows}
    for r in rows:
        assert set(r) == {"id", "title", "text", "date", "labels", "primary", "brief"}, r["id"]
        assert set(r["labels"]) <= set(LABELS) and "elite_defection" not in r["labels"], r["id"]
        assert r["primary"] in (r["labels"] or ["none"]), r["id"]
        assert 120 <= len(r["text"].split()) <= 700 and 5 <= len(r["brief"].split()) <= 45, r["id"]
        assert " ".join(r["text"].split()).lower() not in corpus_texts, r["id"]


def test_supplement_is_valid_training_data_and_apart_from_evaluation(splits):
    """data/supplement/train.jsonl (session 23, training only): corpus schema, no id or story shared
    with the splits, and no near-copy (word 5-gram Jaccard >= 0.3) of a validation or test article."""
    rows = read_records(CORPUS.parent / "supplement" / "train.jsonl")
    corpus_ids = {r["id"] for rows_ in splits.values() for r in rows_}
    corpus_stories = {r["story"] for rows_ in splits.values() for r in rows_}
    assert len(rows) == 240  # the datasheet's count
    assert len({r["id"] for r in rows}) == len({r["story"] for r in rows}) == len(rows)  # each its own story
    assert not corpus_ids & {r["id"] for r in rows}
    held_out = [(r["id"], _shingles(r["text"])) for name in ("validation", "test") for r in splits[name]]
    for r in rows:
        assert set(r) == {"id", "title", "text", "date", "labels", "primary", "brief", "source_style", "story"}, r["id"]
        assert set(r["labels"]) <= set(LABELS) and r["primary"] in (r["labels"] or ["none"]), r["id"]
        assert r["source_style"] in STYLES and r["story"] not in corpus_stories, r["id"]
        assert 120 <= len(r["text"].split()) <= 700 and 5 <= len(r["brief"].split()) <= 45, r["id"]
        assert r["brief"] != r["brief"].lower() and r["title"].strip(), r["id"]
        assert r["date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"]), r["id"]
        mine = _shingles(r["text"])
        for other, theirs in held_out:
            assert len(mine & theirs) / len(mine | theirs) < 0.3, f"{r['id']} near-copies {other}"



@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_supplement_copies_no_real_text_evaluation_item():
    """The supplement's writers never opened the real-text sets; check that no supplement article
    is a near-copy (defsum.data.near_copies) of a real-text test or validation item."""
    sys.path.insert(0, str(CORPUS.parents[1] / "eval"))
    from real_text import load_real_eval

    from defsum.data import near_copies

    real = [r for name in ("labels", "validation") for r in load_real_eval(SHARED, CORPUS.parent / "real_eval" / f"{name}.jsonl")]
    assert len(real) >= 250  # 169 test + 94 validation items
    supplement = read_records(CORPUS.parent / "supplement" / "train.jsonl")
    assert near_copies(supplement, real) == []
    # the check can fail: a real item pasted into a supplement-like record is caught
    assert near_copies([{"id": "x", "text": real[0]["text"]}], real) == ["x"]
