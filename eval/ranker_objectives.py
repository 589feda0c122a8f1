"""Should the sentence ranker learn from ROUGE against reference briefs, or from hand labels?

The shipped ranker (``defsum.salience``, the summariser's extracted brief) is fitted to rank the
sentence with the highest ROUGE-L against a reference brief first. Issue #5 asks instead that a
brief name the article's main actor and event, and ``data/brief_labels/train.jsonl`` marks, for
each corpus training article, the sentences that do. This script fits the same ranker (same
features, pairwise logistic regression) on those labels at each C of ``salience.C_GRID``, chooses
C by the actor-and-event hits on the two development sets (corpus validation and ``real-dev``),
and reports every system on every labelled split: the share of articles whose picked sentence is
labelled 1 (``eval/actor_event.py``'s measure) and the ROUGE-L F1 of the picked sentence against
the reference. Test splits (corpus ``test``, ``real-heldout``) are reported, never used to choose.

    python eval/ranker_objectives.py --out eval/reports/ranker_objectives.json

Needs ../shared/data beside the checkout (the real-news sets). No model is run: the ranker's
features are text features, so this takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "eval"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from actor_event import MAX_WORDS, load_labels, load_split, sentence_key  # noqa: E402

from defsum.salience import C_GRID, SentenceRanker, candidates, mean_rouge  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402

DEV = ("validation", "real-dev")
TEST = ("test", "real-heldout")


def labelled(split: str) -> list[dict[str, Any]]:
    """Each article of ``split`` with candidates: its features, 0/1 labels and ROUGE-L per candidate."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    labels = load_labels(ROOT / "data" / "brief_labels" / f"{split}.jsonl")
    out = []
    for row in load_split(split):
        sents, feats = candidates(row["text"], row["title"], MAX_WORDS)
        if not sents:
            continue
        try:
            y = np.array([labels[row["key"]][sentence_key(s)] for s in sents], dtype=np.float32)
        except KeyError as err:
            raise SystemExit(f"{split}: {row['key']} has a sentence without a label ({err}); relabel (see eval/actor_event.py)") from err
        rouge = np.array([scorer.score(row["reference"], s)["rougeL"].fmeasure for s in sents])
        out.append({"feats": feats, "y": y, "rouge": rouge})
    return out


def evaluate(articles: list[dict[str, Any]], weight: np.ndarray | None) -> dict[str, float]:
    """Hits (picked sentence labelled 1), their rate, and mean ROUGE-L x 100 of the picked
    sentence; ``weight`` None picks the first candidate (the lead)."""
    ranker = SentenceRanker(weight) if weight is not None else None
    hits = int(sum(a["y"][int(np.argmax(a["feats"] @ weight)) if ranker else 0] for a in articles))
    rouge = mean_rouge([(a["feats"], a["rouge"]) for a in articles], ranker)
    return {"n": len(articles), "hits": hits, "rate": round(hits / len(articles), 4), "rougeL": round(rouge, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", default=str(ROOT / "defsum" / "models" / "summarizer"), help="summariser folder whose ranker is compared")
    p.add_argument("--c", type=float, nargs="+", default=list(C_GRID), help="inverse regularisation strengths to try")
    p.add_argument("--out", default=None, help="write the report here as JSON (the shipped one: eval/reports/ranker_objectives.json)")
    args = p.parse_args(argv)
    try:
        splits = {s: labelled(s) for s in ("train", *DEV, *TEST)}
    except OSError as err:
        raise SystemExit(f"{err} (the real-news splits read ../shared/data beside the checkout)") from err
    shipped = SentenceRanker.load(args.model)
    if shipped is None:
        raise SystemExit(f"--model {args.model}: no sentence_ranker.safetensors in it")
    train = [(a["feats"], a["y"]) for a in splits["train"]]
    systems: dict[str, dict[str, Any]] = {
        "lead (first candidate)": {"weight": None},
        "shipped ranker (ROUGE objective)": {"weight": shipped.weight},
    }
    for c in args.c:
        systems[f"actor-event labels, C={c:g}"] = {"weight": SentenceRanker.fit_labelled(train, c).weight, "C": c}
    for system in systems.values():
        system["splits"] = {s: evaluate(splits[s], system["weight"]) for s in (*DEV, *TEST)}
        system["dev_hits"] = sum(system["splits"][s]["hits"] for s in DEV)
    fitted = [k for k, v in systems.items() if "C" in v]
    chosen = max(fitted, key=lambda k: (systems[k]["dev_hits"], -systems[k]["C"]))  # ties: the stronger regularisation
    ceiling = {s: int(sum(a["y"].any() for a in splits[s])) for s in (*DEV, *TEST)}
    print(f"{'system':36s} " + " ".join(f"{s:>22s}" for s in (*DEV, *TEST)))
    print(f"{'(hits / n, ROUGE-L)':36s} " + " ".join(f"{'ceiling ' + str(ceiling[s]):>22s}" for s in (*DEV, *TEST)))
    for name, system in systems.items():
        cells = [f"{v['hits']:>3d}/{v['n']:<3d} {v['rougeL']:5.1f}" for v in system["splits"].values()]
        print(f"{name + (' *' if name == chosen else ''):36s} " + " ".join(f"{c:>22s}" for c in cells))
    print(f"* chosen by development hits ({' + '.join(DEV)}); test columns: {', '.join(TEST)}")
    if args.out:
        report = {"n_train": len(train), "dev": list(DEV), "test": list(TEST), "ceiling": ceiling, "chosen": chosen,
                  "systems": {k: {"C": v.get("C"), "dev_hits": v["dev_hits"], "splits": v["splits"]} for k, v in systems.items()}}
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
