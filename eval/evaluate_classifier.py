"""Evaluate a classifier folder on labelled JSONL: metrics JSON, a Markdown report and PNG plots.

Reports per-label precision/recall/F1, macro/micro F1, primary-event accuracy, ECE before and after
temperature scaling, bootstrap 95% intervals, the baselines (keyword rules, TF-IDF + logistic
regression, zero-shot similarity) on the same data, chunking vs truncation on long articles, and
the worst mistakes with the window the model relied on.

Usage (the shipped default model on the corpus test split and the real-text set):
    python eval/evaluate_classifier.py --out eval/reports/classifier
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from defsum import EventClassifier  # noqa: E402
from defsum.classifier import BACKENDS, WINDOW_BATCH  # noqa: E402
from defsum.data import label_matrix, read_records  # noqa: E402
from defsum.labels import NONE  # noqa: E402
from defsum.metrics import bootstrap_ci, classification_metrics, expected_calibration_error  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402


def predict_all(clf: EventClassifier, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Predictions, probability matrices (calibrated and raw) and 0/1 matrices for rows."""
    from defsum.metrics import apply_temperature

    texts, titles = [r["text"] for r in rows], [r.get("title") or None for r in rows]
    # one pass over all windows; the three views below are derived from it
    per_window, raw, windows, features = clf._article_probs(texts, titles, WINDOW_BATCH, False, calibrated=False)
    raw = np.stack(raw)
    probs = apply_temperature(raw, clf.config["temperature"])
    first = apply_temperature(np.stack([p[0] for p in per_window]), clf.config["temperature"])
    if clf.lexical_head is not None:  # mixed in as predict() does; it reads the whole text in both views
        lexical = clf.lexical_head.probabilities(texts, titles)
        probs, first = clf.lexical_head.combine(probs, lexical), clf.lexical_head.combine(first, lexical)
    head = clf._head_probs(features)
    preds = [clf._decide(p, apply_temperature(pw, clf.config["temperature"]), w, None if head is None else head[k])
             for k, (p, pw, w) in enumerate(zip(probs, per_window, windows))]
    return {"preds": preds, "probs": probs, "raw": raw, "first": first,
            "y": np.array(label_matrix(rows, clf.labels)),
            "yhat": np.array([[int(l in p.labels) for l in clf.labels] for p in preds])}


def metrics_for(clf: EventClassifier, rows: list[dict[str, Any]], out: dict[str, Any], rounds: int) -> dict[str, Any]:
    y, yhat, preds = out["y"], out["yhat"], out["preds"]
    m = classification_metrics(y, yhat, clf.labels)
    correct = np.array([p.primary == r["primary"] for p, r in zip(preds, rows)])
    m["primary_accuracy"] = round(float(correct.mean()), 4)
    m["ece_before_temperature"] = expected_calibration_error(y, out["raw"])
    m["ece"] = expected_calibration_error(y, out["probs"])
    present = y.sum(axis=0) > 0  # every resample averages the same labels
    m["macro_f1_ci95"] = bootstrap_ci(lambda i: classification_metrics(y[i], yhat[i], clf.labels, present)["macro_f1"], len(rows), rounds)
    m["primary_accuracy_ci95"] = bootstrap_ci(lambda i: float(correct[i].mean()), len(rows), rounds)
    m["n"] = len(rows)
    return m


def first_window_text(clf: EventClassifier, text: str, title: str | None) -> str:
    """``text`` cut where the classifier's first window ends: what a model that truncates reads
    (with the shipped model, 512 tokens less [CLS], two [SEP] and the title's). With a slow
    tokenizer (no offsets) the kept tokens are decoded, so the text comes back normalised by it.

    >>> first_window_text(clf, "word " * 2000, "Title").count("word")  # doctest: +SKIP
    508
    """
    tok = clf.tokenizer
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=tok.is_fast)
    # body tokens of the first window: its length less what the windows add around a one-token body
    one = tok("x", add_special_tokens=False)["input_ids"]
    size = len(clf.windows(text, title).input_ids[0]) - len(clf.windows("x", title).input_ids[0]) + len(one)
    if len(enc["input_ids"]) <= size:
        return text
    if tok.is_fast:
        return text[: enc["offset_mapping"][size - 1][1]]
    return tok.decode(enc["input_ids"][:size])


def long_article_comparison(clf: EventClassifier, rows: list[dict[str, Any]], out: dict[str, Any]) -> dict[str, Any]:
    """Articles over 512 tokens, macro-F1 and primary accuracy three ways: as configured (windows,
    and a lexical head reading the whole article); the transformer's first window only (the
    lexical head still reading everything); and plain truncation (the article cut to its first
    window before any part of the model sees it)."""
    tok = clf.tokenizer
    long = [i for i, r in enumerate(rows) if len(tok(r["text"], add_special_tokens=False)["input_ids"]) > 512]
    if not long:
        return {"n": 0}
    th = clf.thresholds
    y = out["y"][long]
    chunked = classification_metrics(y, out["yhat"][long], clf.labels)["macro_f1"]
    truncated = classification_metrics(y, (out["first"][long] >= th).astype(int), clf.labels)["macro_f1"]
    titles = [rows[i].get("title") or None for i in long]
    cut = clf.predict([first_window_text(clf, rows[i]["text"], t) for i, t in zip(long, titles)], titles=titles, show_progress_bar=False)
    plain = classification_metrics(y, np.array([[int(l in p.labels) for l in clf.labels] for p in cut]), clf.labels)["macro_f1"]

    def primary(preds: list[Any]) -> float:
        return round(float(np.mean([p.primary == rows[i]["primary"] for p, i in zip(preds, long)])), 4)

    return {"n": len(long), "macro_f1_chunked": chunked, "macro_f1_first_window_only": truncated, "macro_f1_plain_truncation": plain,
            "primary_accuracy_chunked": primary([out["preds"][i] for i in long]), "primary_accuracy_plain_truncation": primary(cut)}


def evidence(clf: EventClassifier, row: dict[str, Any], label: str, pred: Any) -> str:
    w = clf.windows(row["text"], row.get("title") or None)
    k = pred.evidence_window.get(label, 0)
    text = clf.tokenizer.decode(w.input_ids[k], skip_special_tokens=True)
    return f"window {k + 1}/{len(w.input_ids)}: " + (text[:400] + " ..." if len(text) > 400 else text)


def worst_errors(clf: EventClassifier, rows: list[dict[str, Any]], out: dict[str, Any], k: int = 3) -> list[str]:
    lines = []
    for j, label in enumerate(clf.labels):
        p, y = out["probs"][:, j], out["y"][:, j]
        fp = [i for i in np.argsort(-p) if y[i] == 0 and p[i] >= clf.thresholds[j]][:k]
        fn = [i for i in np.argsort(p) if y[i] == 1 and p[i] < clf.thresholds[j]][:k]
        for kind, idx in (("false positive", fp), ("false negative", fn)):
            for i in idx:
                r = rows[i]
                lines.append(f"- **{label} {kind}** (p={p[i]:.2f}) `{r['id']}` *{r.get('title') or '(no title)'}*  \n"
                             f"  gold {r['labels'] or '[]'}; evidence {evidence(clf, r, label, out['preds'][i])}")
    return lines


def plots(clf: EventClassifier, out: dict[str, Any], rows: list[dict[str, Any]], folder: Path, name: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix, precision_recall_curve

    files = []
    labels = clf.labels
    fig, axes = plt.subplots(1, len(labels) + 1, figsize=(4.2 * (len(labels) + 1), 4))
    for j, label in enumerate(labels):
        cm = confusion_matrix(out["y"][:, j], out["yhat"][:, j], labels=[0, 1])
        _heat(axes[j], cm, ["no", "yes"], label)
    classes = [*labels, NONE]
    cm = confusion_matrix([r["primary"] for r in rows], [p.primary for p in out["preds"]], labels=classes)
    _heat(axes[-1], cm, [c.replace("_", "\n") for c in classes], "primary event")
    fig.tight_layout()
    files.append(_save(fig, folder / f"{name}_confusion.png"))

    fig, ax = plt.subplots(figsize=(6, 5))
    for j, label in enumerate(labels):
        prec, rec, th = precision_recall_curve(out["y"][:, j], out["probs"][:, j])
        line, = ax.plot(rec, prec, label=label)
        t = clf.thresholds[j]
        k = int(np.argmin(np.abs(np.append(th, 1.0) - t)))
        ax.plot(rec[k], prec[k], "o", color=line.get_color(), markersize=9, markeredgecolor="black")
    ax.set_xlabel("recall"); ax.set_ylabel("precision"); ax.set_title(f"Precision-recall ({name}); dots = chosen thresholds")
    ax.set_xlim(0, 1.02); ax.set_ylim(0, 1.02); ax.legend(loc="lower left"); ax.grid(alpha=0.3)
    files.append(_save(fig, folder / f"{name}_pr_curves.png"))

    fig, ax = plt.subplots(figsize=(5.5, 5))
    edges = np.linspace(0, 1, 11)
    for key, title in (("raw", "before temperature"), ("probs", "after temperature")):
        p, y = out[key].ravel(), out["y"].ravel()
        idx = np.clip(np.digitize(p, edges[1:-1]), 0, 9)
        xs = [p[idx == b].mean() for b in range(10) if (idx == b).any()]
        ys = [y[idx == b].mean() for b in range(10) if (idx == b).any()]
        ax.plot(xs, ys, "o-", label=f"{title} (ECE {expected_calibration_error(out['y'], out[key])})")
    ax.plot([0, 1], [0, 1], "k--", alpha=0.5, label="perfect calibration")
    ax.set_xlabel("predicted probability"); ax.set_ylabel("observed frequency"); ax.set_title(f"Reliability ({name})")
    ax.legend(loc="upper left"); ax.grid(alpha=0.3)
    files.append(_save(fig, folder / f"{name}_reliability.png"))
    return files


def _heat(ax: Any, cm: np.ndarray, names: list[str], title: str) -> None:
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black", fontsize=12)
    ax.set_xticks(range(len(names)), names, fontsize=8); ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("predicted"); ax.set_ylabel("gold"); ax.set_title(title)


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def per_label_table(m: dict[str, Any]) -> list[str]:
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    rows += [f"| {l} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |" for l, v in m["per_label"].items()]
    return rows


def evaluate(model: str | None, sets: dict[str, list[dict[str, Any]]], out_dir: Path, baselines: dict[str, Any] | None = None,
             rounds: int = 1000, want_plots: bool = True, precision: str = "auto", backend: str = "torch",
             baselines_fitted_on: str | None = None, token_pruning: bool = True) -> dict[str, Any]:
    """Evaluate one model folder on named data sets; writes metrics.json, report.md and plots
    (``baselines_fitted_on``: what the baselines were fitted on, for the report)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clf = EventClassifier.from_pretrained(model, precision=precision, backend=backend, token_pruning=token_pruning)
    results: dict[str, Any] = {"model": model or "default", "precision": clf.precision, "backend": clf.backend, "token_pruning": clf.token_pruning,
                               "config": {k: clf.config[k] for k in ("aggregation", "temperature", "thresholds", "max_length")},
                               "lexical_weight": clf.lexical_head.weight if clf.lexical_head else None}
    md = [f"# Classifier evaluation: `{model or 'defsum default'}`", "",
          f"Settings: {clf.backend} {clf.precision}, aggregation `{clf.config['aggregation']}`, temperature {clf.config['temperature']}, thresholds {clf.config['thresholds']}"
          + f", token pruning {clf.token_pruning or 'off'}"
          + (f", lexical head mixed in at weight {clf.lexical_head.weight} (TF-IDF + logistic regression; it reads each "
             "article whole; the long-article lines below also show plain truncation, where every part of the model reads only the first window)" if clf.lexical_head else "")
          + ".", ""]
    for name, rows in sets.items():
        out = predict_all(clf, rows)
        m = metrics_for(clf, rows, out, rounds)
        m["long_articles"] = long_article_comparison(clf, rows, out)
        results[name] = m
        md += [f"## {caption(name, m['n'])}", "",
               f"macro-F1 **{m['macro_f1']:.3f}** (95% CI {m['macro_f1_ci95'][0]:.3f}-{m['macro_f1_ci95'][1]:.3f}), micro-F1 {m['micro_f1']:.3f}, "
               f"primary accuracy **{m['primary_accuracy']:.3f}** (95% CI {m['primary_accuracy_ci95'][0]:.3f}-{m['primary_accuracy_ci95'][1]:.3f}), "
               f"ECE {m['ece_before_temperature']} before temperature, {m['ece']} after.", "", *per_label_table(m), ""]
        la = m["long_articles"]
        if la["n"]:
            md += [f"Long articles (> 512 tokens, n={la['n']}): macro-F1 {la['macro_f1_chunked']:.3f} as configured (windows, "
                   f"{clf.config['aggregation']}) vs {la['macro_f1_first_window_only']:.3f} with the transformer's first window only and "
                   f"{la['macro_f1_plain_truncation']:.3f} with plain truncation (the article cut to its first window for every part of "
                   f"the model); primary accuracy {la['primary_accuracy_chunked']:.3f} as configured vs "
                   f"{la['primary_accuracy_plain_truncation']:.3f} with plain truncation.", ""]
        if baselines and name in next(iter(baselines.values()), {}):
            md += ["Baselines on the same articles:", "", "| system | macro-F1 | micro-F1 | primary accuracy |", "|---|---|---|---|",
                   f"| this model | {m['macro_f1']:.3f} | {m['micro_f1']:.3f} | {m['primary_accuracy']:.3f} |"]
            md += [f"| {b} | {r[name]['macro_f1']:.3f} | {r[name]['micro_f1']:.3f} | {r[name]['primary_accuracy']:.3f} |" for b, r in baselines.items()]
            md += ["", f"The baselines are fitted on {baselines_fitted_on}." if baselines_fitted_on else "", ""]
        if want_plots:
            md += [f"![{f}]({f})" for f in plots(clf, out, rows, out_dir, _slug(name))] + [""]
        md += ["Worst mistakes:", "", *worst_errors(clf, rows, out), ""]
    if baselines:
        results["baselines"] = baselines
        results["baselines_fitted_on"] = baselines_fitted_on
    (out_dir / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "report.md").write_text("\n".join(md) + "\n")
    return results


def caption(name: str, n: int, bold: bool = False) -> str:
    """A set's heading; validation sets say they are for model selection.

    >>> caption("real-text validation set", 94)
    'real-text validation set (94 articles; for choosing between models, not a test score)'
    """
    note = "; for choosing between models, not a test score" if "validation" in name else ""
    return f"{f'**{name}**' if bold else name} ({n} articles{note})"


def _slug(name: str) -> str:
    """A set's file-name prefix, one per set name.

    >>> _slug("corpus test"), _slug("real-text validation set")
    ('corpus-test', 'real-text-validation-set')
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "set"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--model", default=None, help="classifier folder (default: the shipped model)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"],
                   help="inference arithmetic (EventClassifier.from_pretrained); --write-card needs the default")
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="inference engine (EventClassifier.from_pretrained); --write-card needs the default")
    p.add_argument("--no-token-pruning", action="store_true",
                   help="score every token (ignore the model's token_pruning setting); --write-card needs the default")
    p.add_argument("--data", nargs="*", default=["data/corpus/test.jsonl"], help="labelled JSONL file(s), each reported separately")
    p.add_argument("--real", default="data/real_eval/labels.jsonl", help="hand-labelled real-text set ('' to skip)")
    p.add_argument("--real-validation", default="data/real_eval/validation.jsonl",
                   help="hand-labelled real-text validation set, for choosing between models ('' to skip)")
    p.add_argument("--shared", default="../shared/data", help="folder of the shared data sets (texts of the real-text set)")
    p.add_argument("--train", default="auto",
                   help="what the baselines are fitted on: 'auto' = the model's own training data, from its training_report.json "
                        "(the corpus train split and its weak labels at their weight); a JSONL file; '' to skip baselines")
    p.add_argument("--validation", default="data/corpus/validation.jsonl", help="validation split for baseline thresholds")
    p.add_argument("--out", default="eval/reports/classifier",
                   help="report folder: metrics.json, report.md, PNG plots (default: %(default)s, the shipped report, "
                        "which a plain run overwrites: give another folder to keep it)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds for the 95%% intervals")
    p.add_argument("--write-card", action="store_true",
                   help="rewrite the model folder's README.md model card from its training report and these results")
    p.add_argument("--card-only", action="store_true", help="with --write-card: use the metrics.json already in --out, evaluate nothing")
    args = p.parse_args(argv)
    if args.write_card and (args.precision != "auto" or args.backend != "torch" or args.no_token_pruning):
        p.error("--write-card describes the shipped setting; run it with the default --precision, --backend and token pruning")
    if args.card_only:
        res = json.loads((Path(args.out) / "metrics.json").read_text())
        write_card(args.model, res, [k for k in res if isinstance(res[k], dict) and "macro_f1" in res[k]])
        return
    sets = {f"{Path(d).parent.name} {Path(d).stem}": read_records(d) for d in args.data}
    from real_text import load_real_eval

    for name, path in (("real-text set", args.real), ("real-text validation set", args.real_validation)):
        if path and Path(path).exists() and Path(args.shared).exists():
            sets[name] = load_real_eval(args.shared, path)
    baselines, fitted_on = None, None
    if args.train:
        from baselines import model_training_data, run_baselines, training_rows

        if args.train == "auto":
            from defsum.modelio import resolve_model_path

            train_files, weak_files, weak_weight = model_training_data(resolve_model_path(args.model, "classifier"))
        else:
            train_files, weak_files, weak_weight = [args.train], [], 0.5
        train_rows = training_rows(train_files, weak_files, weak_weight)
        if args.train == "auto":  # the real-text sets again, less the items the model trained on under another id
            from defsum.data import near_copies

            for name in [n for n in sets if n.startswith("real-text")]:
                copies = set(near_copies(sets[name], train_rows))
                if copies:
                    sets[f"{name} without copies of training texts"] = [r for r in sets[name] if r["id"] not in copies]
                    print(f"{name}: {len(copies)} items are near-copies of training texts: {sorted(copies)}")
        baselines = run_baselines(train_rows, read_records(args.validation), sets)
        fitted_on = (f"{', '.join(train_files)}" + (f" and the weak labels {', '.join(weak_files)} at weight {weak_weight}" if weak_files else "")
                     + f"; thresholds on {args.validation}")
    res = evaluate(args.model, sets, Path(args.out), baselines, args.bootstrap, precision=args.precision, backend=args.backend,
                   baselines_fitted_on=fitted_on, token_pruning=not args.no_token_pruning)
    for name in sets:
        m = res[name]
        print(f"{name}: macro-F1 {m['macro_f1']:.3f} {m['macro_f1_ci95']}, primary acc {m['primary_accuracy']:.3f}, ECE {m['ece']}")
    print(f"report: {Path(args.out) / 'report.md'}")
    if args.write_card:
        write_card(args.model, res, sets)


def write_card(model: str | None, res: dict[str, Any], sets: Any) -> None:
    """Regenerate the model card with every evaluated set and the baselines."""
    from defsum.model_card import classifier_card
    from defsum.modelio import resolve_model_path

    folder = Path(resolve_model_path(model, "classifier"))
    report = json.loads((folder / "training_report.json").read_text())
    pruning = res.get("token_pruning")
    how = f", token pruning from layer {pruning['layer']} keeping {pruning['keep']}" if pruning else ", every token"
    lines = [f"### All evaluations (`python eval/evaluate_classifier.py --write-card`; {res['backend']} {res['precision']}{how}, the default on the CPU that ran it)", ""]
    for name in sets:
        m = res[name]
        lines += [f"{caption(name, m['n'], bold=True)}: macro-F1 {m['macro_f1']:.3f} (95% CI {m['macro_f1_ci95'][0]:.3f}-{m['macro_f1_ci95'][1]:.3f}), "
                  f"micro-F1 {m['micro_f1']:.3f}, primary accuracy {m['primary_accuracy']:.3f}, ECE {m['ece_before_temperature']} -> {m['ece']} "
                  "(before -> after temperature).", "", *per_label_table(m), ""]
        if name in res.get("baselines", {}).get("TF-IDF + logistic regression", {}):
            lines.append("Baselines on the same set: " + "; ".join(
                f"{b} macro-F1 {r[name]['macro_f1']:.3f}" for b, r in res["baselines"].items()) + ".")
            lines.append("")
        la = m.get("long_articles", {})
        if la.get("n"):
            lines += [f"Articles over 512 tokens (n={la['n']}): macro-F1 {la['macro_f1_chunked']:.3f} as configured vs "
                      f"{la['macro_f1_first_window_only']:.3f} with the transformer's first window only"
                      + (f" and {la['macro_f1_plain_truncation']:.3f} with plain truncation (the whole model reads the first window)"
                         if "macro_f1_plain_truncation" in la else "") + ".", ""]
    (folder / "README.md").write_text(classifier_card(report, extra="\n".join(lines)), encoding="utf-8")
    print(f"model card: {folder / 'README.md'}")


if __name__ == "__main__":
    main()
