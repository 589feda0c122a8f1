"""Merge the team-written article batches into the corpus and split it by story.

Each record's ``story`` decides its split (a stable hash: ~65% train, 15% validation, 20% test),
so two articles on one event never land in different splits. The test split's SHA-256 is written
to ``data/corpus/test.sha256`` and checked by the tests: rebuilding must not change it.

Usage: python training/build_corpus.py [--raw data/raw] [--out data/corpus]

The writers' batch files were merged once and are not kept: their records are exactly the
corpus. ``--raw data/corpus`` re-splits the corpus itself and gives the same splits (the test
checksum is unchanged; ``tests/test_corpus.py`` checks this).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from defsum.data import read_records, write_records  # noqa: E402

FIELDS = ("id", "title", "text", "date", "labels", "primary", "brief", "source_style", "story")


def split_of(story: str) -> str:
    """The split of a story: a stable hash, 65/15/20."""
    h = int(hashlib.sha256(story.encode("utf-8")).hexdigest(), 16) % 100
    return "test" if h < 20 else "validation" if h < 35 else "train"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--raw", default="data/raw", help="folder of the writers' *.jsonl batch files")
    p.add_argument("--out", default="data/corpus", help="output folder")
    args = p.parse_args(argv)
    records, seen = [], set()
    for path in sorted(Path(args.raw).glob("*.jsonl")):
        for r in read_records(path):
            key = " ".join(r["text"].split()).lower()
            if key in seen:
                print(f"dropping exact duplicate text {r['id']}")
                continue
            seen.add(key)
            records.append({k: r.get(k) for k in FIELDS})
    splits: dict[str, list] = {"train": [], "validation": [], "test": []}
    records.sort(key=lambda r: (int(r["id"].split("-")[0][1:]), int(r["id"].split("-")[1])))
    for r in records:
        splits[split_of(r["story"])].append(r)
    out = Path(args.out)
    for name, rows in splits.items():
        write_records(out / f"{name}.jsonl", rows)
        print(f"{name}: {len(rows)}")
    digest = hashlib.sha256((out / "test.jsonl").read_bytes()).hexdigest()
    (out / "test.sha256").write_text(f"{digest}  test.jsonl\n")


if __name__ == "__main__":
    main()
