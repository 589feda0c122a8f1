"""Precision of the weak-label rules on the hand-checked sample (data/real_eval/weak_check.jsonl).

Usage: python training/weak_precision.py [--shared ../shared/data]
The sample was checked by hand against LABELS.md; the rules were revised after reading its errors,
so precision of the revised rules on this same sample is optimistic (both are printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from weak_labels import SOURCES  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default="../shared/data")
    p.add_argument("--checked", default="data/real_eval/weak_check.jsonl")
    args = p.parse_args(argv)
    checked = [json.loads(line) for line in open(args.checked, encoding="utf-8")]
    now = {}
    for fn in SOURCES.values():
        for r in fn(Path(args.shared)):
            now[r["id"]] = r["labels"]
    for title, get in (("rules as first written (labels at check time)", lambda c: c["weak_labels"]),
                       ("revised rules (same sample: optimistic)", lambda c: now.get(c["id"]))):
        hits, total = defaultdict(int), defaultdict(int)
        dropped = 0
        for c in checked:
            labels = get(c)
            if labels is None:
                dropped += 1
                continue
            for label in labels or ["none"]:
                total[label] += 1
                hits[label] += label in (c["gold_labels"] or ["none"])
        print(title + ":")
        for label in ("elite_defection", "provocation", "diplomacy", "none"):
            if total[label]:
                print(f"  {label:16s} {hits[label]}/{total[label]} = {hits[label] / total[label]:.0%}")
        if dropped:
            print(f"  ({dropped} checked items no longer produced by the rules)")


if __name__ == "__main__":
    main()
