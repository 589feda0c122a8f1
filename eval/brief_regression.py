"""Did a code change move any brief? Dump the summariser's briefs, and compare two dumps.

Text handling (sentence splitting, casing, trimming, the ranker's candidates) sits under every
brief, and a change made for one kind of input can move briefs of another. This writes, for each
evaluation set of the summariser report, every article's brief and its body sentences
(``briefs.body_sentences``), so a dump from before a change and one from after can be compared:

    git stash && python eval/brief_regression.py --out /tmp/before.json && git stash pop
    python eval/brief_regression.py --out /tmp/after.json --compare /tmp/before.json

The default sets are those of ``eval/reports/summarizer.md``: the corpus test split and 60-record
samples of the held-out Inshorts, CNN/DailyMail, BBC and XSum pairs (313 articles). ``--compare``
prints each changed brief (before and after) and exits 1 when any brief or sentence list changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from defsum import briefs  # noqa: E402
from defsum.data import parse_pair_spec, read_pair_spec  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402
from defsum.summarizer import Summarizer  # noqa: E402

sys.path.insert(0, str(ROOT / "eval"))
from sets import CORPUS_TEST, HELD_OUT  # noqa: E402

DEFAULT_SETS = [CORPUS_TEST, *HELD_OUT]
"""The sets of the shipped summariser report (``eval/reports/summarizer.json``)."""


def dump(summ: Summarizer, specs: list[str], batch_size: int = 8) -> dict[str, dict[str, Any]]:
    """``{set name: {"ids", "briefs", "sentences"}}`` for each pair spec (``defsum.data`` syntax)."""
    out: dict[str, dict[str, Any]] = {}
    for text in specs:
        spec = parse_pair_spec(text)
        rows = read_pair_spec(spec, skip_empty=True)
        texts, titles = [r["text"] for r in rows], [r.get("title") for r in rows]
        out[spec["name"]] = {
            "ids": [str(r["id"]) for r in rows],
            "briefs": summ.summarize(texts, titles=titles, batch_size=batch_size, show_progress_bar=False) if rows else [],
            "sentences": [briefs.body_sentences(t, h) for t, h in zip(texts, titles)],
        }
    return out


def compare(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    """Lines describing every difference between two dumps (empty: none)."""
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after or before[name]["ids"] != after[name]["ids"]:
            lines.append(f"{name}: the articles differ (another sample or data file); not comparable")
            continue
        b, a = before[name], after[name]
        moved = [i for i, (x, y) in enumerate(zip(b["briefs"], a["briefs"])) if x != y]
        split = sum(x != y for x, y in zip(b["sentences"], a["sentences"]))
        lines += [f"{name}: {len(moved)} of {len(b['ids'])} briefs changed, {split} sentence lists changed"] if moved or split else []
        for i in moved:
            lines += [f"  {b['ids'][i]}", f"    before: {b['briefs'][i]}", f"    after:  {a['briefs'][i]}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", default=None, help="summariser folder or hub id (default: the model shipped with defsum)")
    p.add_argument("--data", action="append", metavar="SPEC",
                   help="a pair set as in eval/evaluate_summarizer.py (repeatable; default: the summariser report's five sets)")
    p.add_argument("--out", required=True, help="JSON file to write the dump to")
    p.add_argument("--compare", default=None, metavar="DUMP", help="an earlier dump: print what changed, exit 1 if anything did")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        before = json.loads(Path(args.compare).read_text(encoding="utf-8")) if args.compare else None
        result = dump(Summarizer.from_pretrained(args.model), args.data or DEFAULT_SETS)
    except (OSError, ValueError) as err:
        raise SystemExit(f"brief_regression: {err}") from err
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False) + "\n", encoding="utf-8")
    n = sum(len(s["ids"]) for s in result.values())
    print(f"wrote {n} briefs of {len(result)} sets to {args.out}")
    for name, s in result.items():
        print(f"{name}: {len(s['ids'])} articles, {sum(not b for b in s['briefs'])} empty briefs")
    if before is None:
        return 0
    lines = compare(before, result)
    print("\n".join(lines) if lines else f"no brief or sentence list changed ({n} articles)")
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
