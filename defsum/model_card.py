"""Model cards (README.md beside the weights) generated from training and evaluation results."""

from __future__ import annotations

import shlex
from typing import Any

from defsum.labels import LABELS

_ON_BY_DEFAULT = frozenset({"primary_head"})  # argparse BooleanOptionalAction flags whose default is on


def _table(per_label: dict[str, dict[str, float]]) -> str:
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, m in per_label.items():
        rows.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(rows)


def training_command(args: dict[str, Any], script: str = "training/train_classifier.py") -> str:
    """A command line equivalent to ``args`` (a training script's ``vars(args)``), for reports that
    predate the recorded ``command``. Flags that default to on (``primary_head``) print ``--no-...``.

    >>> training_command({"train": ["my data.jsonl"], "weak": [], "epochs": 5.0, "bf16": False,
    ...                   "no_class_weights": True, "base": None, "primary_head": False, "command": "x"})
    "python training/train_classifier.py --train 'my data.jsonl' --epochs 5.0 --no-class-weights --no-primary-head"
    """
    parts = ["python", script]
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        if key == "command" or value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        if key in _ON_BY_DEFAULT:
            parts += [] if value else ["--no-" + key.replace("_", "-")]
        elif value is True:
            parts.append(flag)
        elif value is not False:
            parts += [flag, *map(shlex.quote, map(str, value if isinstance(value, (list, tuple)) else [value]))]
    return " ".join(parts)


def classifier_card(report: dict[str, Any], extra: str = "") -> str:
    """A Markdown model card for a classifier from ``train_classifier.py``'s report.

    >>> "macro-F1" in classifier_card({"base": "b", "train_files": [], "weak_files": [], "n_train": 1,
    ...     "n_validation": 1, "calibration": {"aggregation": "max", "temperature": 1.0, "thresholds": {},
    ...     "ece_validation_before": 0.1, "ece_validation_after": 0.05}})
    True
    """
    cal = report["calibration"]
    lines = [
        "---", "library_name: defsum", "pipeline_tag: text-classification", "tags: [multi-label, news, events]", "---", "",
        "# defsum event classifier", "",
        f"Multi-label tagger for {', '.join(f'`{l}`' for l in LABELS)} (definitions in defsum's README), "
        f"fine-tuned from `{report['base']}`.", "",
        "## Training data", "",
        f"- Corpus records: {', '.join(report['train_files']) or '-'} ({report['n_train']} training records in all"
        + (f", weak labels from {', '.join(report['weak_files'])}" if report.get("weak_files") else "") + ").",
        f"- Validation: {report['n_validation']} records; used for early stopping, aggregation, temperature and thresholds.",
    ]
    if report.get("command") or report.get("args"):
        again = report.get("recalibration_command") or (
            f"--calibrate-only {report['recalibrated_from']} (its other options were not recorded)" if report.get("recalibrated_from") else "")
        lines.append(f"- Trained with `{report.get('command') or training_command(report['args'])}`"
                     + (f" ({report['train_seconds']} s of training)" if report.get("train_seconds") else "")
                     + (f"; calibration and primary head refitted with `{again}`" if again else "") + ".")
    lines += [
        "",
        "## Inference settings (chosen on validation)", "",
        f"- Long articles: overlapping windows that keep the title; window probabilities aggregated by `{cal['aggregation']}` "
        f"(validation macro-F1 by aggregation: {cal.get('aggregation_macro_f1', {})}).",
        f"- Temperature {cal['temperature']}; expected calibration error on validation {cal['ece_validation_before']} before, "
        f"{cal['ece_validation_after']} after.",
        *([f"- Lexical head (`lexical_head.safetensors`): TF-IDF over word 1-2 grams and a logistic regression per label, fitted on "
           f"{', '.join(report.get('lexical_files') or []) or 'the training records'} (weak labels at their loss weight); its "
           f"probabilities are mixed in at weight {cal['lexical_weight']}: (1 - {cal['lexical_weight']}) x the transformer's "
           f"calibrated probability + {cal['lexical_weight']} x its own, then rescaled by a temperature of its own "
           f"({cal.get('lexical_temperature')}, fitted on validation). Thresholds are tuned on the mix (and mapped through that "
           "temperature, which changes no decision); the expected calibration error above is the transformer's before and the "
           "final probabilities' after."]
          if cal.get("lexical_weight") else []),
        f"- Thresholds: {cal['thresholds']}.",
        f"- Primary event: `{cal.get('primary_rule', 'max')}` (validation primary accuracy by rule: {cal.get('primary_accuracy_validation', {})})."
        + (f" `head` is a 4-way logistic regression (each label or none; C={cal.get('primary_head_C')}) over the first window's "
           "[CLS] vector, fitted on the training records' primary events (`primary_head.safetensors`); it ranks only the "
           "labels that passed their thresholds." if cal.get("primary_rule") == "head" else ""), "",
        "## Metrics", "",
    ]
    if "test" in report:
        t = report["test"]
        lines += [
            f"Corpus test split ({t['n']} articles written by the defsum team; never trained on; scored at the end of training): macro-F1 **{t['macro_f1']:.3f}**, "
            f"micro-F1 {t['micro_f1']:.3f}, primary-event accuracy {t['primary_accuracy']:.3f}, ECE {t['ece']}.", "",
            _table(t["per_label"]), "",
        ]
    if extra:
        lines += [extra, ""]
    if report.get("notes"):  # hand-written findings kept in training_report.json, so regenerating keeps them
        lines += ["## Notes", "", *(f"- {x}" for x in report["notes"]), ""]
    lines += [
        "## Limits", "",
        "- The corpus is team-written; scores on real news are lower (see the real-text numbers where given).",
        *(f"- {x}" for x in report.get("limits", [])),
        "- English only; other languages are scored, with labels that mean little, and flagged `non_english` by the CLI.",
        "- Trained mostly on security news: text far from that domain may get spurious low-confidence tags.",
        "",
    ]
    return "\n".join(lines)
