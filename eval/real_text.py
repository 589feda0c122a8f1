"""The hand-labelled real-text evaluation set: labels live in data/real_eval/labels.jsonl, texts in
../shared/data (read from there, never copied). No item is trained on under its own id: the CSIS,
CNS, KCNA and BBC items come from the pool that training/weak_labels.py holds out; the XSum,
Inshorts and FRANK items and the BBC politics stories are never used by the classifier's training;
the user's seed article (../shared/examples/seed_article.txt) is never trained on. A copy of an item
under another id can be (``defsum.data.near_copies``; eval/evaluate_classifier.py reports the set
without such items too).

data/real_eval/validation.jsonl is a second hand-labelled set in the same format, for choosing
between models on real text: its items come from outside the held-out pool, and
training/weak_labels.py leaves them out of the weak labels. It is never a test score.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SOURCES = {
    "csis": ("events/csis_nk_provocations.jsonl", "event", "description"),
    "cns": ("events/cns_nk_missile_tests.jsonl", "missile", "description"),
    "kcna": ("corpora/kcna_2024.jsonl", "headline", "text"),
    "bbc": ("summaries/bbc_news_summary.jsonl", None, "document"),
    "xsum": ("summaries/xsum.jsonl", None, "document"),
    "inshorts": ("summaries/inshorts.jsonl", "headline", "document"),
    "frank": ("summaries/frank_cnndm_xsum.jsonl", None, "document"),
}
SEED = "../examples/seed_article.txt"  # the user's example article, relative to the data folder


def load_real_eval(shared: str | Path = "../shared/data", labels: str | Path = "data/real_eval/labels.jsonl") -> list[dict[str, Any]]:
    """Records (LABELS.md format) of the hand-labelled real-text set, texts joined from ``shared``."""
    shared = Path(shared)
    wanted = [json.loads(line) for line in open(labels, encoding="utf-8") if line.strip()]
    texts: dict[tuple[str, str], tuple[str, str]] = {}
    if any(w["source"] == "seed" for w in wanted):
        body = (shared / SEED).read_text(encoding="utf-8")
        texts[("seed", "seed_article")] = ("", body.strip())
    for source in {w["source"] for w in wanted} - {"seed"}:
        path, title_field, text_field = SOURCES[source]
        with open(shared / path, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                text = r[text_field]
                title = r.get(title_field, "") if title_field else ""
                if source == "bbc":
                    title, _, text = text.partition("\n\n")
                texts[(source, r["id"])] = (str(title).strip(), text.strip())
    out = []
    for w in wanted:
        if (w["source"], w["id"]) not in texts:
            raise ValueError(f"{labels}: {w['source']} item {w['id']} is not in {shared}")
        title, text = texts[(w["source"], w["id"])]
        if not text.strip():
            continue  # e.g. a CNS entry with an empty description: nothing to classify
        out.append({"id": w["id"], "title": title, "text": text, "date": None, "labels": w["labels"],
                    "primary": w["primary"], "brief": "", "source": w["source"]})
    return out



def add_validation_options(parser: argparse.ArgumentParser) -> None:
    """``--validation``, ``--real-validation`` and ``--shared``: the two sets a model's settings are chosen on."""
    parser.add_argument("--validation", default="data/corpus/validation.jsonl", help="corpus validation split")
    parser.add_argument("--real-validation", default="data/real_eval/validation.jsonl",
                        help="hand-labelled real-text validation set ('' to skip)")
    parser.add_argument("--shared", default="../shared/data", help="folder of the shared data sets (texts of the real-text set)")


def validation_sets(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """The sets :func:`add_validation_options` names: ``corpus-validation`` and, unless skipped,
    ``real-text-validation``."""
    from defsum.data import read_records

    sets = {"corpus-validation": read_records(args.validation)}
    if args.real_validation:
        sets["real-text-validation"] = load_real_eval(args.shared, args.real_validation)
    return sets
