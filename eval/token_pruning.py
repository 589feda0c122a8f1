"""Choose a classifier's token pruning (``defsum.token_pruning``) on validation sets only.

For each setting of a grid (the encoder layer pruning starts at, and the share of each window's
tokens kept), the classifier scores the corpus validation split and the hand-labelled real-text
validation set in the given arithmetic, alternating with the same model unpruned, for a few
rounds. A setting passes when, on each set, its macro-F1 is at most ``--max-f1-drop`` below the
unpruned model's and its primary accuracy at most one article lower. The fastest passing setting
is chosen (median time ratio over the rounds; within 2% the larger keep, then the later layer);
none is chosen when it is under ``--min-speedup``. ``--write`` puts the choice in the model
folder's ``defsum_config.json`` (``"token_pruning"``), for the arithmetic it was measured in only
(``"precisions"``; run the script once per arithmetic you use, and merge). Layers the model does not
have are left out of the grid. No test set is read.

Example:
    python eval/token_pruning.py --out eval/reports/token_pruning.json --write
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from defsum import EventClassifier  # noqa: E402
from defsum.data import label_matrix  # noqa: E402
from defsum.metrics import classification_metrics  # noqa: E402
from defsum.modelio import DEFSUM_CONFIG, resolve_model_path  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402
from benchmark import agreement  # noqa: E402
from defsum.token_pruning import layer_count, prune_tokens, run_all_tokens  # noqa: E402
from real_text import add_validation_options, validation_sets  # noqa: E402

LAYERS = (2, 3, 4)
KEEPS = (0.3, 0.4, 0.5, 0.6, 0.7)


def score(clf: EventClassifier, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Macro-F1, primary accuracy, predictions and seconds of ``clf`` on ``rows``."""
    start = time.perf_counter()
    preds = clf.predict([r["text"] for r in rows], titles=[r.get("title") or None for r in rows])
    seconds = time.perf_counter() - start
    y = np.array(label_matrix(rows, clf.labels))
    yhat = np.array([[int(label in p.labels) for label in clf.labels] for p in preds])
    return {
        "macro_f1": classification_metrics(y, yhat, clf.labels)["macro_f1"],
        "primary_accuracy": float(np.mean([p.primary == r["primary"] for p, r in zip(preds, rows)])),
        "predictions": preds,
        "seconds": seconds,
    }


def choose(table: list[dict[str, Any]], reference: dict[str, dict[str, Any]], sizes: dict[str, int],
           max_f1_drop: float, min_speedup: float) -> dict[str, Any] | None:
    """The fastest setting of ``table`` that passes on every set (see the module text), or None.

    >>> ref = {"v": {"macro_f1": 0.9, "primary_accuracy": 0.9}}
    >>> rows = [{"layer": 3, "keep": 0.5, "speedup": 1.3, "v": {"macro_f1": 0.85, "primary_accuracy": 0.9}},
    ...         {"layer": 3, "keep": 0.6, "speedup": 1.2, "v": {"macro_f1": 0.9, "primary_accuracy": 0.9}}]
    >>> choose(rows, ref, {"v": 10}, 0.005, 1.05)
    {'layer': 3, 'keep': 0.6}
    """
    passing = []
    for row in table:
        ok = all(row[name]["macro_f1"] >= reference[name]["macro_f1"] - max_f1_drop - 1e-9
                 and row[name]["primary_accuracy"] >= reference[name]["primary_accuracy"] - 1.0 / sizes[name] - 1e-9
                 for name in reference)
        row["passes"] = ok
        if ok:
            passing.append(row)
    if not passing:
        return None
    fastest = max(r["speedup"] for r in passing)
    near = [r for r in passing if r["speedup"] >= fastest / 1.02]
    best = max(near, key=lambda r: (r["keep"], r["layer"]))
    return {"layer": best["layer"], "keep": best["keep"]} if best["speedup"] >= min_speedup else None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", default=None, help="classifier folder (default: the shipped model)")
    add_validation_options(p)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"], help="inference arithmetic (the default's, to measure what users get)")
    p.add_argument("--layers", type=int, nargs="+", default=list(LAYERS), help="encoder layers pruning may start at")
    p.add_argument("--keeps", type=float, nargs="+", default=list(KEEPS), help="shares of each window's tokens kept")
    p.add_argument("--rounds", type=int, default=3, help="timing rounds, each setting alternating with the unpruned model")
    p.add_argument("--max-f1-drop", type=float, default=0.005, help="largest macro-F1 loss allowed on each set")
    p.add_argument("--min-speedup", type=float, default=1.05, help="choose no pruning below this speed-up")
    p.add_argument("--out", default=None, help="write the table and the choice to this JSON file")
    p.add_argument("--write", action="store_true", help="set token_pruning in the model folder's defsum_config.json to the choice")
    args = p.parse_args(argv)
    sets = validation_sets(args)
    folder = resolve_model_path(args.model, "classifier")
    clf = EventClassifier.from_pretrained(args.model, precision=args.precision, token_pruning=False)
    rows = [r for rs in sets.values() for r in rs]
    n_layers = layer_count(clf.model)
    layers = [layer for layer in args.layers if 1 <= layer < n_layers]
    if not layers:
        raise SystemExit(f"{folder}: none of the layers {args.layers} can start pruning in a model of {n_layers} encoder layers")
    score(clf, rows[:8])  # warm-up
    reference = {name: score(clf, rs) for name, rs in sets.items()}
    table = []
    for layer in layers:
        for keep in args.keeps:
            if not prune_tokens(clf.model, layer, keep):
                raise SystemExit(f"{folder}: this model's layout cannot be pruned (defsum.token_pruning)")
            ratios, results = [], {}
            for _ in range(args.rounds):
                results = {name: score(clf, rs) for name, rs in sets.items()}
                run_all_tokens(clf.model)
                plain = sum(score(clf, rs)["seconds"] for rs in sets.values())
                if not prune_tokens(clf.model, layer, keep):
                    raise SystemExit(f"{folder}: pruning at layer {layer} failed its check on a later round")
                ratios.append(plain / sum(r["seconds"] for r in results.values()))
            run_all_tokens(clf.model)
            row: dict[str, Any] = {"layer": layer, "keep": keep, "speedup": round(statistics.median(ratios), 3)}
            for name, res in results.items():
                row[name] = {"macro_f1": round(res["macro_f1"], 4), "primary_accuracy": round(res["primary_accuracy"], 4),
                             **agreement(res["predictions"], reference[name]["predictions"], clf.labels)}
            table.append(row)
            print(json.dumps(row), flush=True)
    sizes = {name: len(rs) for name, rs in sets.items()}
    refs = {name: {"macro_f1": round(r["macro_f1"], 4), "primary_accuracy": round(r["primary_accuracy"], 4)} for name, r in reference.items()}
    chosen = choose(table, refs, sizes, args.max_f1_drop, args.min_speedup)
    res = {"model": str(folder), "precision": clf.precision, "reference": refs, "sizes": sizes, "rounds": args.rounds,
           "max_f1_drop": args.max_f1_drop, "min_speedup": args.min_speedup, "chosen": chosen, "table": table,
           "command": "python eval/token_pruning.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    print(f"chosen: {chosen}")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    if args.write:
        path = Path(folder, DEFSUM_CONFIG)
        config = json.loads(path.read_text(encoding="utf-8"))
        config["token_pruning"] = None if chosen is None else {**chosen, "precisions": [clf.precision]}
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        print(f"wrote token_pruning = {config['token_pruning']} to {path}")
    return res


if __name__ == "__main__":
    main()
