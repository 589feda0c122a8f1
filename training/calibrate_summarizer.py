"""Choose a summariser's beam gates on validation data and write them to its defsum config.

A beam is kept only when it passes the faithfulness checks; two further gates are chosen here
by ROUGE-L on a validation set (never the test split):

- ``min_score``: the lowest mean token log-probability a beam may have (garbled beams are
  the model's least confident ones);
- ``max_novel_words``: how many content words absent from the article a beam may use.

A third gate, ``max_novel_trigrams`` (how many word trigrams absent from the article a beam may
have: each marks a seam where the beam leaves the article's wording), is set with
``--max-novel-trigrams`` rather than tuned: ROUGE rewards a compression whose seam broke the
grammar ("soldiers armed axes") or joined two facts ("to face Ireland in 1998") as much as a sound
one, so the limit comes from reading beams (the summariser's model card says what was read).

A beam that fails falls back to the first sentence of a passing beam, then to an extracted
sentence; which one (``fallback``: the lead, the title-echoing sentence, or the trained sentence
ranker's pick when the model folder has ``sentence_ranker.safetensors``) is chosen here too. Beams are decoded once; every gate pair is scored on the same beams. The chosen
pair has the best ROUGE-L among those whose briefs use, on average, no more content words absent
from the article than the human references do (a brief may paraphrase as much as a person does,
not more); without such a pair, the one with the fewest.

Example::

    python training/calibrate_summarizer.py --model runs/summ/best \\
        --dev data/corpus/validation.jsonl --write
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from defsum import briefs  # noqa: E402
from defsum.data import read_pairs  # noqa: E402
from defsum.summarizer import Summarizer  # noqa: E402

logger = logging.getLogger("calibrate_summarizer")

SCORE_GRID = (None, -2.0, -1.6, -1.4, -1.2, -1.0, -0.9, -0.8, -0.7, -0.6, -0.5, -0.4)
NOVEL_GRID = (None, 0, 1, 2, 3)
FALLBACK_GRID = ("lead", "title")


def limit(value: str) -> int | None:
    """A gate limit from the command line: a whole number >= 0, or 'none'."""
    if value.lower() == "none":
        return None
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number >= 0 or 'none'")
    return int(value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="summariser folder")
    p.add_argument("--dev", default="data/corpus/validation.jsonl", help="validation JSONL with text, title and brief fields")
    p.add_argument("--text-field", default="text", help="article field")
    p.add_argument("--title-field", default="title", help="title field ('' for none)")
    p.add_argument("--reference-field", default="brief", help="reference brief field")
    p.add_argument("--num-beams", type=int, default=4, help="beams")
    p.add_argument("--batch-size", type=int, default=8, help="articles per batch")
    p.add_argument("--max-words", type=int, default=45, help="brief length limit in words")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--max-novel-trigrams", type=limit, default=None,
                   help="word trigrams absent from the article a beam may have (default: no limit; the shipped "
                        "model uses 0); set, not tuned")
    p.add_argument("--out", default=None, help="write the table of every gate pair here (JSON)")
    p.add_argument("--write", action="store_true", help="store the chosen gates in MODEL/defsum_config.json")
    return p.parse_args(argv)


def sweep(summ: Summarizer, rows: list[dict[str, Any]], beams: list[list[tuple[str, float | None]]],
          refs: list[str], max_novel_trigrams: int | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """ROUGE-L (x100), novel content words per brief and the share of articles whose first
    passing beam was not used, for every (min_score, max_novel_words, fallback) setting with the
    given ``max_novel_trigrams``; and the same for the ungated reference (no gate at all, lead
    fallback). Each beam's checks are computed once and shared by every setting."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    base = dict(summ.config)
    cands = [[summ._candidate(b, r, row["text"], row["title"], row["max_words"], s) for r, (b, s) in enumerate(scored)]
             for row, scored in zip(rows, beams)]

    def score(min_score: float | None, max_novel: int | None, fallback_kind: str, max_new3: int | None) -> dict[str, Any]:
        summ.config = dict(base, min_score=min_score, max_novel_words=max_novel, max_novel_trigrams=max_new3,
                           fallback=fallback_kind)
        chosen, fallback, novel = [], 0, 0
        for row, cs in zip(rows, cands):
            brief = summ._pick(cs, row["text"], row["title"], row["max_words"])
            fallback += not any(summ.passes(c) and c.text == brief for c in cs)
            novel += len(briefs.novel_content_words(brief, f"{row['title'] or ''}\n{row['text']}"))
            chosen.append(brief)
        rl = statistics.mean(scorer.score(r, b)["rougeL"].fmeasure for r, b in zip(refs, chosen))
        return {"min_score": min_score, "max_novel_words": max_novel, "fallback": fallback_kind, "rougeL": round(100 * rl, 2),
                "novel_per_brief": round(novel / len(rows), 3), "not_beam_share": round(fallback / len(rows), 3)}

    fallbacks = FALLBACK_GRID + (("salient",) if summ.ranker is not None else ())
    try:
        table = [score(s, n, f, max_novel_trigrams) for f in fallbacks for s in SCORE_GRID for n in NOVEL_GRID]
        ungated = score(None, None, "lead", None)
    finally:
        summ.config = base
    return table, ungated


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    summ = Summarizer.from_pretrained(args.model)
    max_new3 = args.max_novel_trigrams
    try:
        pairs = read_pairs(args.dev, text=args.text_field, title=args.title_field, reference=args.reference_field)
    except (OSError, ValueError) as err:
        raise SystemExit(str(err)) from err
    if not pairs:
        raise SystemExit(f"{args.dev}: no pairs to calibrate on (empty file?)")
    rows = [{"text": r["text"], "title": r["title"], "max_words": args.max_words} for r in pairs]
    refs = [r["reference"] for r in pairs]
    sources = [summ.prepare_input(r["text"], r["title"]) for r in rows]
    beams: list[list[tuple[str, float | None]]] = []
    for i in range(0, len(sources), args.batch_size):
        beams += summ._generate(sources[i : i + args.batch_size], args.num_beams, args.max_words)
        logger.info("decoded %d/%d", min(i + args.batch_size, len(sources)), len(sources))
    if all(s is None for bs in beams for _, s in bs):
        logger.warning("this model gives no beam scores; only max_novel_words can be chosen")
    table, ungated = sweep(summ, rows, beams, refs, max_new3)
    ref_novel = statistics.mean(len(briefs.novel_content_words(ref, f"{row['title'] or ''}\n{row['text']}"))
                                for ref, row in zip(refs, rows))
    allowed = [t for t in table if t["novel_per_brief"] <= ref_novel]
    if allowed:
        best = max(allowed, key=lambda t: (t["rougeL"], -t["not_beam_share"]))
    else:
        best = min(table, key=lambda t: (t["novel_per_brief"], -t["rougeL"]))
    logger.info("references: %.2f novel content words per brief; no gates: ROUGE-L %.2f, %.2f novel; "
                "chosen: min_score=%s max_novel_words=%s fallback=%s ROUGE-L %.2f, %.2f novel, %.0f%% not a beam (%d articles of %s)",
                ref_novel, ungated["rougeL"], ungated["novel_per_brief"], best["min_score"], best["max_novel_words"], best["fallback"],
                best["rougeL"], best["novel_per_brief"], 100 * best["not_beam_share"], len(rows), args.dev)
    if args.out:
        Path(args.out).write_text(json.dumps({"dev": args.dev, "n": len(rows), "max_novel_trigrams": max_new3, "reference_novel_per_brief": round(ref_novel, 3),
                                              "chosen": best, "ungated": ungated,
                                              "table": table}, indent=1) + "\n", encoding="utf-8")
    if args.write:
        path = Path(args.model, "defsum_config.json")
        cfg = json.loads(path.read_text(encoding="utf-8"))
        cfg.update(min_score=best["min_score"], max_novel_words=best["max_novel_words"], max_novel_trigrams=max_new3,
                   fallback=best["fallback"])
        path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        logger.info("wrote the gates to %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
