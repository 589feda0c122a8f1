"""Evaluate a summariser folder on JSONL sets with a text and a reference field.

For each set: ROUGE-1/2/L F1 (``rouge-score``, Porter stemming) of the model and of the Lead-1
and Lead-2 baselines, entity precision (share of the brief's names and numbers found in the
article; the references' own value is shown for calibration), brief length, share of
all-lower-case briefs, share with a repeated trigram, share clipped mid-phrase (``briefs.is_clipped``),
new trigrams per brief (word trigrams absent from the article, ``briefs.novel_ngrams``: 0 for an
extracted sentence, more for a rewording or a broken compression) and seconds per article. For articles over
512 tokens it also compares the model's chosen input (title + lead/salient sentences) with plain
truncation. Writes a metrics JSON and a Markdown report with sample briefs beside references.

Data specs (``--data SPEC``, parsed by ``defsum.data.parse_pair_spec``): a JSONL path, then
comma-separated KEY=VALUE options::

    PATH[,name=N][,text=F][,reference=F][,title=F|@firstline][,id=F][,filter=F=V]
        [,heldout=1|buckets=B][,limit=N]

  name=N       the set's name in the report (default: the file name, plus filter/buckets)
  text=F       the field with the article (default: document; the corpus: text=text)
  reference=F  the field with the reference brief (default: summary; the corpus: reference=brief)
  title=F      the field with the title, or @firstline: the text's first line is the title
               (default: no title)
  id=F         the id field that heldout/buckets split on (default: id)
  filter=F=V   keep only the records whose field F is V (e.g. filter=source=cnndm)
  heldout=1    keep only the records no training script trains on: sha1(id) % 10 == 0
               (``defsum.data.is_held_out``); the same as buckets=0
  buckets=B    keep the records whose sha1(id) % 10 is in B: 0, 1, 2-9 or e.g. 0+1
  limit=N      a fixed random sample of N records (seed 0); overrides --limit
  weight=W     accepted (other scripts read it) and ignored here

Records without a text or a reference are left out.

Example::

    python eval/evaluate_summarizer.py --model defsum/models/summarizer \\
        --data data/corpus/test.jsonl,name=corpus-test,text=text,reference=brief,title=title \\
        --data ../shared/data/summaries/inshorts.jsonl,name=inshorts,title=headline,heldout=1 \\
        --out-json eval/reports/summarizer.json --out-md eval/reports/summarizer.md
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from defsum import briefs  # noqa: E402
from defsum.data import parse_pair_spec, read_pair_spec  # noqa: E402
from defsum.summarizer import Summarizer  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402

logger = logging.getLogger("evaluate_summarizer")


def load_set(spec: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
    if limit and not spec["limit"]:
        spec = dict(spec, limit=limit)
    rows = read_pair_spec(spec, skip_empty=True)
    if not rows:
        raise SystemExit(f"{spec['path']}: no pairs with fields {spec['text']!r} and {spec['reference']!r} (after filter/buckets)")
    return rows


def lead(text: str, n: int) -> str:
    sentences = briefs.split_sentences(text)
    if len(sentences) <= 1:
        sentences = briefs.split_sentences_loose(text)
    return " ".join(sentences[:n])


def rouge(scorer: Any, refs: list[str], hyps: list[str]) -> dict[str, float]:
    scores = [scorer.score(r, h) for r, h in zip(refs, hyps)]
    return {k: round(100 * statistics.mean(s[k].fmeasure for s in scores), 2) for k in ("rouge1", "rouge2", "rougeL")}


def evaluate_set(summ: Summarizer, rows: list[dict[str, Any]], args: argparse.Namespace, scorer: Any) -> dict[str, Any]:
    texts = [r["text"] for r in rows]
    titles = [r["title"] for r in rows]
    refs = [r["reference"] for r in rows]
    t0 = time.perf_counter()
    hyps = summ.summarize(texts, titles=titles, max_words=args.max_words, num_beams=args.num_beams,
                          batch_size=args.batch_size, show_progress_bar=False)
    seconds = (time.perf_counter() - t0) / len(rows)
    sources = [f"{h or ''}\n{t}" for t, h in zip(texts, titles)]
    extracted = [summ.extract(t, h, args.max_words) or briefs.lead_sentence(t, args.max_words) for t, h in zip(texts, titles)]
    result: dict[str, Any] = {
        "n": len(rows),
        "model": rouge(scorer, refs, hyps),
        "lead1": rouge(scorer, refs, [lead(t, 1) for t in texts]),
        "lead2": rouge(scorer, refs, [lead(t, 2) for t in texts]),
        "extracted": rouge(scorer, refs, extracted),  # the fallback sentence for every article
        "entity_precision": round(statistics.mean(briefs.entity_precision(h, s) for h, s in zip(hyps, sources)), 4),
        "entity_precision_min": round(min(briefs.entity_precision(h, s) for h, s in zip(hyps, sources)), 4),
        "reference_entity_precision": round(statistics.mean(briefs.entity_precision(r, s) for r, s in zip(refs, sources)), 4),
        "brief_words": round(statistics.mean(len(h.split()) for h in hyps), 1),
        "reference_words": round(statistics.mean(len(r.split()) for r in refs), 1),
        "max_brief_words": max(len(h.split()) for h in hyps),
        "all_lower_share": round(sum(briefs.is_all_lower(h) for h in hyps) / len(hyps), 4),
        "repeated_trigram_share": round(sum(briefs.has_repeated_ngrams(h, 3) for h in hyps) / len(hyps), 4),
        "clipped_share": round(sum(briefs.is_clipped(h, s) for h, s in zip(hyps, sources)) / len(hyps), 4),
        "extracted_share": round(sum(h == x for h, x in zip(hyps, extracted)) / len(hyps), 4),
        "novel_trigrams_per_brief": novel_trigrams(hyps, sources),
        "reference_novel_trigrams_per_brief": novel_trigrams(refs, sources),
        "seconds_per_article": round(seconds, 3),
    }
    result["samples"] = [
        {"id": r["id"], "title": r["title"], "brief": h, "reference": r["reference"]}
        for r, h in list(zip(rows, hyps))[: args.samples]
    ]
    if args.fallback_compare:
        saved = summ.config["fallback"]
        summ.config["fallback"] = "best"
        try:
            own = summ.summarize(texts, titles=titles, max_words=args.max_words, num_beams=args.num_beams,
                                 batch_size=args.batch_size, show_progress_bar=False)
        finally:
            summ.config["fallback"] = saved
        result["model_own_beams"] = rouge(scorer, refs, own)
        result["model_own_beams"]["entity_precision"] = round(
            statistics.mean(briefs.entity_precision(h, s) for h, s in zip(own, sources)), 4)
        result["model_own_beams"]["novel_trigrams_per_brief"] = novel_trigrams(own, sources)
    tok = summ.tokenizer
    long_idx = [i for i, t in enumerate(texts) if len(tok(t, add_special_tokens=False)["input_ids"]) > 512]
    if long_idx and args.long_compare:
        sub_refs = [refs[i] for i in long_idx]
        strategy = summ.config["input_strategy"]
        out = {"n": len(long_idx), "chosen_input": rouge(scorer, sub_refs, [hyps[i] for i in long_idx])}
        summ.config["input_strategy"] = "truncate"
        try:
            trunc = summ.summarize([texts[i] for i in long_idx], titles=[titles[i] for i in long_idx],
                                   max_words=args.max_words, num_beams=args.num_beams, batch_size=args.batch_size)
        finally:
            summ.config["input_strategy"] = strategy
        out["plain_truncation"] = rouge(scorer, sub_refs, trunc)
        result["long_articles"] = out
    return result


def novel_trigrams(texts: list[str], sources: list[str]) -> float:
    """Mean number of word trigrams per text that its article never has."""
    return round(statistics.mean(len(briefs.novel_ngrams(t, s, 3)) for t, s in zip(texts, sources)), 2)


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Summariser evaluation: `{report['model']}`", "",
             f"Command: `{report['command']}`", "",
             f"Decoding: {report['num_beams']} beams, max {report['max_words']} words, batch {report['batch_size']}, "
             f"{report.get('precision', 'fp32')}; gates {report.get('gates', {})}; "
             f"machine: {report['machine']}.", "",
             "ROUGE F1 x 100 (`rouge-score`, stemmed). EP = entity precision (names and numbers of the brief found "
             "in the article); Ref EP = the same for the references.", "",
             "| set | n | model R1 / R2 / RL | Lead-1 R1 / R2 / RL | Lead-2 R1 / R2 / RL | RL vs Lead-2 | EP (min) | Ref EP | words (ref) | all-lower | rep. 3-gram | clipped | new 3-grams (ref) | extracted | s/article |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["sets"].items():
        def f(m: dict[str, float]) -> str:
            return f"{m['rouge1']:.1f} / {m['rouge2']:.1f} / {m['rougeL']:.1f}"
        diff = r["model"]["rougeL"] - r["lead2"]["rougeL"]
        lines.append(
            f"| {name} | {r['n']} | {f(r['model'])} | {f(r['lead1'])} | {f(r['lead2'])} | {diff:+.1f} | "
            f"{r['entity_precision']:.3f} ({r['entity_precision_min']:.2f}) | {r['reference_entity_precision']:.3f} | "
            f"{r['brief_words']} ({r['reference_words']}) | {r['all_lower_share']:.0%} | {r['repeated_trigram_share']:.0%} | "
            f"{r['clipped_share']:.0%} | {r['novel_trigrams_per_brief']:.2f} ({r['reference_novel_trigrams_per_brief']:.1f}) | "
            f"{r['extracted_share']:.0%} | {r['seconds_per_article']:.2f} |"
        )
    own = {n: r["model_own_beams"] for n, r in report["sets"].items() if "model_own_beams" in r}
    if own:
        lines += ["", "## The model's own beams, and the extracted sentence alone", "",
                  "When no beam passes the checks and gates, the shipped setting returns an extracted sentence "
                  f"(fallback: {report['gates']['fallback']}). Own beams = that fallback off (the least unfaithful "
                  "beam is returned instead); extracted = the fallback sentence for every article:", "",
                  "| set | own beams R1 / R2 / RL | own beams EP | own beams new 3-grams | extracted R1 / R2 / RL |", "|---|---|---|---|---|"]
        for name, m in own.items():
            x = report["sets"][name]["extracted"]
            lines.append(f"| {name} | {m['rouge1']:.1f} / {m['rouge2']:.1f} / {m['rougeL']:.1f} | {m['entity_precision']:.3f} | "
                         f"{m['novel_trigrams_per_brief']:.2f} | "
                         f"{x['rouge1']:.1f} / {x['rouge2']:.1f} / {x['rougeL']:.1f} |")
    longs = {n: r["long_articles"] for n, r in report["sets"].items() if "long_articles" in r}
    if longs:
        lines += ["", "## Long articles (> 512 tokens): chosen input vs plain truncation", "",
                  "| set | n | title + lead/salient sentences R1 / R2 / RL | plain truncation R1 / R2 / RL |", "|---|---|---|---|"]
        for name, r in longs.items():
            c, t = r["chosen_input"], r["plain_truncation"]
            lines.append(f"| {name} | {r['n']} | {c['rouge1']:.1f} / {c['rouge2']:.1f} / {c['rougeL']:.1f} | "
                         f"{t['rouge1']:.1f} / {t['rouge2']:.1f} / {t['rougeL']:.1f} |")
    for name, r in report["sets"].items():
        lines += ["", f"## Samples: {name}", ""]
        for i, s in enumerate(r["samples"], 1):
            title = f" ({s['title']})" if s.get("title") else ""
            lines += [f"{i}. `{s['id']}`{title}", f"   - **brief:** {s['brief']}", f"   - **reference:** {s['reference']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", default=None, help="summariser folder or hub id (default: the model shipped with defsum)")
    p.add_argument("--data", action="append", required=True, metavar="SPEC", help="a JSONL set: PATH[,KEY=VALUE...], keys under Data specs above; repeatable")
    p.add_argument("--limit", type=int, default=None, help="at most this many records per set, a fixed random sample (default: all; a spec's limit= wins)")
    p.add_argument("--num-beams", type=int, default=4, help="beams")
    p.add_argument("--batch-size", type=int, default=8, help="articles per batch")
    p.add_argument("--max-words", type=int, default=45, help="brief length limit in words")
    p.add_argument("--samples", type=int, default=20, help="sample briefs per set in the report")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--long-compare", action=argparse.BooleanOptionalAction, default=True, help="compare chosen input vs plain truncation on articles over 512 tokens")
    p.add_argument("--fallback-compare", action=argparse.BooleanOptionalAction, default=False, help="also score the model with the extracted fallback off (its own beams only)")
    p.add_argument("--out-json", default="eval/reports/summarizer.json", help="metrics JSON (default: %(default)s, the shipped report, which a plain run overwrites)")
    p.add_argument("--out-md", default="eval/reports/summarizer.md", help="Markdown report (default: %(default)s, the shipped report, which a plain run overwrites)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    summ = Summarizer.from_pretrained(args.model)
    import platform

    report: dict[str, Any] = {
        "model": args.model or "defsum/models/summarizer (default)",
        "command": "python " + " ".join(sys.argv) if argv is None else "evaluate_summarizer " + " ".join(argv),
        "num_beams": args.num_beams, "batch_size": args.batch_size, "max_words": args.max_words,
        "precision": summ.precision, "gates": {k: summ.config.get(k) for k in ("min_score", "max_novel_words", "max_novel_trigrams", "fallback")},
        "machine": f"{platform.processor() or platform.machine()}, torch threads={args.threads}",
        "sets": {},
    }
    for spec_text in args.data:
        try:
            spec = parse_pair_spec(spec_text)
            rows = load_set(spec, args.limit)
        except (OSError, ValueError) as err:
            raise SystemExit(f"--data {spec_text}: {err}") from err
        logger.info("evaluating %s: %d records", spec["name"], len(rows))
        report["sets"][spec["name"]] = evaluate_set(summ, rows, args, scorer)
        r = report["sets"][spec["name"]]
        logger.info("%s: model RL %.2f, lead-2 RL %.2f, EP %.3f", spec["name"], r["model"]["rougeL"], r["lead2"]["rougeL"], r["entity_precision"])
        for path, text in ((args.out_json, json.dumps(report, indent=2)), (args.out_md, markdown(report))):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + ("\n" if path.endswith(".json") else ""), encoding="utf-8")
    logger.info("wrote %s and %s", args.out_json, args.out_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
