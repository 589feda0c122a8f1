"""Choose the lexical head's weight on validation sets only (``training/train_classifier.py --lexical-weight``).

For each weight on a grid, the classifier's calibrated probabilities are mixed with those of a
TF-IDF + logistic regression model fitted on the classifier's own training data (its
training_report.json), thresholds are tuned on corpus validation as the training script tunes
them, and the mix is scored on corpus validation (macro-F1) and on the real-text validation set
(micro-F1: it has no elite_defection positive, so its macro-F1 leaves that label's false alarms
out). The chosen weight has the best mean of the two; ties go to the smaller weight. No test set
is read.

Example:
    python eval/lexical_weight.py --model defsum/models/classifier --out eval/reports/lexical_weight.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from defsum import EventClassifier  # noqa: E402
from defsum.data import label_matrix  # noqa: E402
from defsum.lexical_head import blend  # noqa: E402
from defsum.metrics import classification_metrics, tune_thresholds  # noqa: E402
from defsum.modelio import resolve_model_path  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402
from real_text import add_validation_options, validation_sets  # noqa: E402

GRID = tuple(round(0.1 * k, 1) for k in range(11))


def choose_weight(y: dict[str, np.ndarray], model: dict[str, np.ndarray], lexical: dict[str, np.ndarray],
                  labels: list[str], grid: tuple[float, ...] = GRID) -> dict[str, Any]:
    """Score each weight of ``grid`` on the sets ``corpus-validation`` (macro-F1) and, if present,
    ``real-text-validation`` (micro-F1); thresholds tuned on corpus validation. Returns the table
    and the chosen weight (best mean; ties to the smaller weight).

    >>> y = {"corpus-validation": np.array([[1], [0], [1], [0]])}
    >>> m = {"corpus-validation": np.array([[0.6], [0.7], [0.8], [0.2]])}
    >>> lx = {"corpus-validation": np.array([[0.9], [0.1], [0.8], [0.2]])}
    >>> choose_weight(y, m, lx, ["provocation"], (0.0, 0.5, 1.0))["weight"]
    0.5
    """
    table = []
    for w in grid:
        mix = {k: blend(model[k], lexical[k], w) for k in model}
        th = tune_thresholds(y["corpus-validation"], mix["corpus-validation"])
        row: dict[str, Any] = {"weight": w, "thresholds": [round(float(t), 3) for t in th]}
        scores = []
        for name, metric in (("corpus-validation", "macro_f1"), ("real-text-validation", "micro_f1")):
            if name in mix:
                row[f"{name} {metric}"] = classification_metrics(y[name], (mix[name] >= th).astype(int), labels)[metric]
                scores.append(row[f"{name} {metric}"])
        row["mean"] = round(float(np.mean(scores)), 4)
        table.append(row)
    best = max(table, key=lambda r: (r["mean"], -r["weight"]))
    return {"weight": best["weight"], "table": table}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", default=None, help="classifier folder (default: the shipped model); its own lexical head, if any, is ignored")
    add_validation_options(p)
    p.add_argument("--precision", default="bf16", choices=["auto", "fp32", "bf16", "int8"], help="inference arithmetic")
    p.add_argument("--out", default=None, help="write the table and choice to this JSON file")
    args = p.parse_args(argv)
    from baselines import fit_lexical_head, model_training_data, training_rows

    from defsum.metrics import apply_temperature

    sets = validation_sets(args)
    folder = resolve_model_path(args.model, "classifier")
    clf = EventClassifier.from_pretrained(args.model, precision=args.precision, token_pruning=False)
    train_files, weak_files, weak_weight = model_training_data(folder)
    head = fit_lexical_head(training_rows(train_files, weak_files, weak_weight))
    y, model, lexical = {}, {}, {}
    for name, rows in sets.items():
        texts, titles = [r["text"] for r in rows], [r.get("title") or None for r in rows]
        raw = np.stack(clf._article_probs(texts, titles, 8, False, calibrated=False)[1])  # the transformer alone
        model[name] = apply_temperature(raw, clf.config["temperature"])
        lexical[name] = head.probabilities(texts, titles)
        y[name] = np.array(label_matrix(rows, clf.labels))
    res = choose_weight(y, model, lexical, clf.labels)
    res.update(model=str(folder), precision=clf.precision, train_files=train_files, weak_files=weak_files, weak_weight=weak_weight)
    for row in res["table"]:
        print(json.dumps(row))
    print(f"chosen weight: {res['weight']}")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
