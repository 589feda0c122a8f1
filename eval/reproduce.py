"""Reproduce the reports for the shipped default models with one command.

    python eval/reproduce.py            # classifier + summariser on the corpus test split (+ real-text / held-out sets)
    python eval/reproduce.py --quick    # corpus test split only

Writes eval/reports/classifier/ (report.md, metrics.json, PNGs), eval/reports/summarizer.{md,json}
with its plots, eval/reports/actor_event_{test,validation,real-heldout,real-dev}.json and
eval/reports/ranker_objectives.json. Needs ../shared/data for the real-text and held-out sets, and
for data/weak/weak_news.jsonl (the classifier's weak labels, which the baselines are fitted on too),
made first when it is missing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sets import CORPUS_TEST, HELD_OUT, SHARED  # noqa: E402


def run(args: list[str]) -> None:
    print("+ python " + " ".join(args), flush=True)
    subprocess.run([sys.executable, *args], check=True, cwd=HERE.parent)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="corpus test split only (no real-text or held-out sets)")
    args = p.parse_args(argv)
    if not (HERE.parent / "data/weak/weak_news.jsonl").is_file():  # the baselines fit the classifier's own training data
        run(["training/weak_labels.py", "--shared", SHARED, "--per-source", "100", "--news-negatives", "600",
             "--out", "data/weak/weak_news.jsonl"])  # as the release was trained
    clf = ["eval/evaluate_classifier.py", "--out", "eval/reports/classifier"]
    run(clf + (["--real", "", "--real-validation", ""] if args.quick else []))
    summ = ["eval/evaluate_summarizer.py", "--fallback-compare", "--data", CORPUS_TEST]
    if not args.quick:
        summ += [arg for spec in HELD_OUT for arg in ("--data", spec)]
    run(summ)
    run(["eval/plot_summarizer.py"])
    for split in ("test", "validation") + (() if args.quick else ("real-heldout", "real-dev")):
        run(["eval/actor_event.py", "--split", split, "--out", f"eval/reports/actor_event_{split}.json"])
    if not args.quick:
        run(["eval/ranker_objectives.py", "--out", "eval/reports/ranker_objectives.json"])


if __name__ == "__main__":
    main()
