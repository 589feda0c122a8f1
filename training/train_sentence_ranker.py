"""Fit the sentence ranker (the summariser's extracted fallback) and store it in a model folder.

The ranker (:mod:`defsum.salience`) scores an article's first sentences by position, length,
title overlap, names, numbers, dates and the like, and picks the one most likely to state the
news. It is fitted on articles with reference briefs (pairwise: the candidate with the highest
ROUGE-L against the reference must outscore the others), its regularisation chosen by the mean,
over the ``--dev`` sets, of the validation ROUGE-L of the sentences it picks. The report compares
it with the lead sentence on each set.

Data specs (``defsum.data.parse_pair_spec``): ``PATH[,text=F][,reference=F][,title=F|@firstline]
[,filter=F=V][,buckets=0|1|2-9][,limit=N][,weight=W]``; text/reference default to
``document``/``summary``. Shared sets are split by ``sha1(id) % 10``: bucket 0 is held out for
evaluation, bucket 1 is for validation, 2-9 for training. A ``--train`` spec that takes some
buckets loses its near-copies of the other buckets' records (copies under other ids; logged).

Example (the shipped model's ranker)::

    S=../shared/data/summaries
    python training/train_sentence_ranker.py --model defsum/models/summarizer \\
        --train data/corpus/train.jsonl,text=text,reference=brief,title=title \\
        --train $S/inshorts.jsonl,title=headline,buckets=2-9 \\
        --train $S/frank_cnndm_xsum.jsonl,filter=source=cnndm,buckets=2-9 \\
        --train $S/bbc_news_summary.jsonl,title=@firstline,buckets=2-9,limit=400 \\
        --dev data/corpus/validation.jsonl,text=text,reference=brief,title=title \\
        --dev $S/inshorts.jsonl,title=headline,buckets=1 \\
        --dev $S/frank_cnndm_xsum.jsonl,filter=source=cnndm,buckets=1 \\
        --dev $S/bbc_news_summary.jsonl,title=@firstline,buckets=1 \\
        --out eval/reports/sentence_ranker.json

Then choose the fallback and gates with ``training/calibrate_summarizer.py --write``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from defsum.data import copies_of_other_buckets, parse_pair_spec, read_pair_spec  # noqa: E402
from defsum.salience import C_GRID, FEATURES, SentenceRanker, label, mean_rouge  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402

logger = logging.getLogger("train_sentence_ranker")
CORPUS = "text=text,reference=brief,title=title"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", required=True, help="summariser folder to write sentence_ranker.safetensors into")
    p.add_argument("--train", action="append", metavar="SPEC", help=f"pairs to fit on: a data SPEC, see above (repeatable; default: data/corpus/train.jsonl,{CORPUS})")
    p.add_argument("--dev", action="append", metavar="SPEC",
                   help=f"pairs to choose C on, never a test split: a data SPEC, see above "
                        f"(repeatable; default: data/corpus/validation.jsonl,{CORPUS})")
    p.add_argument("--c", type=float, nargs="+", default=list(C_GRID), help="inverse regularisation strengths to try")
    p.add_argument("--max-words", type=int, default=45, help="brief length limit in words")
    p.add_argument("--out", default=None, help="write the validation report here as JSON (default: none; the shipped one is eval/reports/sentence_ranker.json)")
    p.add_argument("--dry-run", action="store_true", help="fit and report, but do not write the ranker")
    args = p.parse_args(argv)
    args.train = args.train or [f"data/corpus/train.jsonl,{CORPUS}"]
    args.dev = args.dev or [f"data/corpus/validation.jsonl,{CORPUS}"]
    return args


def load(specs: list[str], training: bool = False) -> list[tuple[dict, list[tuple[str, str | None, str]]]]:
    """Each spec with its (text, title, reference) triples. A ``training`` spec that takes some
    buckets of a file loses its near-copies of the file's other buckets' records (the held-out and
    validation articles under other ids; ``defsum.data.copies_of_other_buckets``)."""
    out = []
    for text in specs:
        try:
            spec = parse_pair_spec(text)
            rows = read_pair_spec(spec)
            copies = copies_of_other_buckets(spec, rows) if training else set()
        except (OSError, ValueError) as err:
            raise SystemExit(f"--train/--dev {text}: {err}") from err
        if copies:
            logger.info("%s: leaving out %d near-copies of held-out or validation records", spec["name"], len(copies))
            rows = [r for r in rows if r["id"] not in copies]
        if not rows:
            raise SystemExit(f"{text}: no records left after filter/buckets")
        out.append((spec, [(r["text"], r["title"], r["reference"]) for r in rows]))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("absl").setLevel(logging.WARNING)  # rouge-score logs each scorer it builds
    if not Path(args.model).is_dir():
        raise SystemExit(f"--model {args.model}: no such folder")
    train_sets, dev_sets = load(args.train, training=True), load(args.dev)
    train = label([p for _, pairs in train_sets for p in pairs], args.max_words)  # features and ROUGE, once
    weights = [spec["weight"] for spec, pairs in train_sets for _ in pairs]
    dev = [label(pairs, args.max_words) for _, pairs in dev_sets]
    names = [spec["name"] for spec, _ in dev_sets]
    if len(set(names)) != len(names):
        raise SystemExit(f"--dev sets need distinct names, got {names}; add name=... to the specs")
    lead = {n: round(mean_rouge(d), 2) for n, d in zip(names, dev)}
    logger.info("lead sentence, validation ROUGE-L: %s", lead)
    rows = []
    for c in args.c:
        ranker = SentenceRanker.fit_labelled(train, c, weights)
        per_set = {n: round(mean_rouge(d, ranker), 2) for n, d in zip(names, dev)}
        rows.append({"C": c, "mean_rougeL": round(sum(per_set.values()) / len(per_set), 2), "rougeL": per_set, "ranker": ranker})
        logger.info("C=%g: validation ROUGE-L of the picked sentence, mean %.2f: %s", c, rows[-1]["mean_rougeL"], per_set)
    best = max(rows, key=lambda r: (r["mean_rougeL"], -r["C"]))  # ties go to the stronger regularisation
    ranker = best["ranker"]
    logger.info("chosen C=%g: mean %.2f vs lead %.2f; fitted on %d articles", best["C"], best["mean_rougeL"],
                sum(lead.values()) / len(lead), len(train))
    report = {"train": args.train, "dev": args.dev, "n_train": len(train), "n_dev": {n: len(p) for n, (_, p) in zip(names, dev_sets)},
              "lead_rougeL": lead, "chosen_C": best["C"], "chosen_rougeL": best["rougeL"], "chosen_mean_rougeL": best["mean_rougeL"],
              "grid": [{k: r[k] for k in ("C", "mean_rougeL", "rougeL")} for r in rows],
              "weights": dict(zip(FEATURES, [round(float(w), 4) for w in ranker.weight]))}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if not args.dry_run:
        ranker.save(args.model)
        logger.info("wrote %s", Path(args.model, "sentence_ranker.safetensors"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
