"""The event classifier: a fine-tuned transformer that tags articles with defsum's labels."""

from __future__ import annotations

import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Sequence, overload

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from defsum.chunking import Windows, make_windows
from defsum.first_token import run_first_token_only
from defsum.labels import LABELS, NONE
from defsum.precision import autocast, check_int8_device, model_precision, prepare_for_inference, resolve_precision
from defsum.lexical_head import FILENAME as LEXICAL_FILE
from defsum.lexical_head import LexicalHead
from defsum.primary_head import FILENAME as HEAD_FILE
from defsum.primary_head import PrimaryHead
from defsum.checks import as_texts, as_titles, check_count, check_device, check_encodable, check_title, has_visible_text
from defsum.modelio import (
    ModelLoadError,
    check_vocabulary,
    position_limit,
    load_defsum_config,
    model_load_error,
    pretrained_kwargs,
    reload_float,
    resolve_model_path,
    save_defsum_config,
)
from defsum.progress import progress
from defsum.token_pruning import applies, check_setting, prune_tokens

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "labels": list(LABELS),
    "thresholds": None,  # per label; None = 0.5 each
    "temperature": 1.0,
    "max_length": 256,
    "overlap": 64,
    "title_tokens": 32,
    "max_windows": 32,
    "aggregation": "max",  # how window probabilities make an article's: "max", "mean" or "first"
    "primary_rule": "max",  # which passed label is primary: highest article probability ("max") or
    # highest probability in the first window, where news puts its main event ("first_window")
    "token_pruning": None,  # {"layer": L, "keep": K}: drop tokens from layer L on (defsum.token_pruning); None = off
}
PRIMARY_RULES = ("max", "first_window", "head")
AGGREGATIONS = ("max", "mean", "first")
DEFAULT_PRECISION = "auto"
"""bf16 (the weights converted to bf16 at load, under autocast) on a GPU or a CPU with AMX, where it is
the fastest path measured (2.0x to 2.7x the transformers pipeline); dynamic int8 on other x86 CPUs,
where it measured faster than bf16 (1.18x on an AMD EPYC in session 17) with about bf16's
accuracy on the test sets; fp32 elsewhere (:func:`defsum.precision.resolve_precision`). Dynamic int8
scales each layer's input per forward pass, so it scores one window per pass: in batches, a
window's scores depended on its batch mates (docs/speed.md)."""
BACKENDS = ("torch", "onnxruntime")
WINDOW_BATCH = 8
"""Windows per forward pass. On a 2-core Intel Xeon with AMX in bf16 (session 9, `python
eval/benchmark.py --rounds 5 --skip-summary --window-batches 4 16`, random order): 8 windows
2.71x the pipeline, 4 windows 2.31x, 16 windows 2.47x in one run; 2.03x, 2.16x and 1.84x in
another (with CPU_WORKERS). Runs swing by 25%, so treat 4 and 8 as close. On session 8's AMD
EPYC (bf16 autocast) 4 was 0-9% faster than 8."""
CPU_WORKERS = 2
"""Threads that score batches side by side on a CPU, each with a share of torch's threads (equal,
or one more for the workers with the longer batches when the count does not divide):
on two cores, two one-thread workers kept both cores busier than one two-thread worker
(docs/speed.md). torch's thread count is process-wide: it is lowered for the duration of a
call and restored after it, and a thread that first uses torch during such a call keeps the
lowered count. So the workers are used only for calls made from the main thread, one call at a
time (others score with one worker and leave the count alone); set
``defsum.classifier.CPU_WORKERS = 1`` if other threads of yours run torch while the main thread
classifies."""
_WORKERS_LOCK = threading.Lock()
"""Held while a call's workers have changed torch's thread count."""
PAD_MULTIPLE = 32
"""Each batch is padded to a multiple of this many tokens (at most ``max_length``): a few shapes
recur, so the CPU's matrix kernels (oneDNN) are built once and reused instead of for every new
width."""


def pad_id(model_config: Any, tokenizer: Any) -> int:
    """The id to pad windows with: the model's own (a GPT-2-style classifier reads its last
    non-padding token by it), else the tokenizer's, else 0."""
    for owner in (model_config, tokenizer):
        value = getattr(owner, "pad_token_id", None)
        if isinstance(value, int):
            return value
    return 0


def check_arithmetic(backend: str, precision: str, device: str, here: bool = True) -> str:
    """Refuse a backend, precision and device that cannot run together (before any model loads);
    return the device. ``here``: also check that this machine has the device (not for a Ray
    cluster's workers). ``defsum score`` calls it before it opens the output file.

    >>> check_arithmetic("onnxruntime", "bf16", "cpu")  # doctest: +SKIP
    ValueError: backend 'onnxruntime' runs on the CPU in precision 'auto', 'int8' or 'fp32' ...
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    device = check_device(device) if here else str(device)
    resolve_precision(precision, device)  # a precision that is not one
    cpu = str(device).startswith("cpu")
    if backend == "onnxruntime" and (precision not in ("auto", "int8", "fp32") or not cpu):
        raise ValueError(f"backend 'onnxruntime' runs on the CPU in precision 'auto', 'int8' or 'fp32', got precision "
                         f"{precision!r} on device {device!r}; use backend 'torch' for bf16 or a GPU")
    if precision == "int8":
        check_int8_device(device)
    return device


def _fit_positions(config: dict[str, Any], model: Any, tokenizer: Any, where: str) -> None:
    """Cut ``config["max_length"]`` to what the model can read (:func:`defsum.modelio.position_limit`),
    and the window overlap with it when the shorter windows leave no room for it."""
    limit = position_limit(model)
    if not limit or config["max_length"] <= limit:
        return
    logger.warning("%s: windows of %d tokens are more than the model's %d positions; using %d-token windows",
                   where, config["max_length"], limit, limit)
    config["max_length"] = limit
    body = limit - tokenizer.num_special_tokens_to_add(pair=True) - config["title_tokens"]
    if config["overlap"] >= body:
        config["overlap"] = max(body // 4, 0)


@dataclass(frozen=True)
class Prediction:
    """The event tags of one article.

    ``scores`` are calibrated probabilities per label; ``labels`` those at or above their
    threshold; ``primary`` the most probable of ``labels``, or ``"none"``.
    """

    labels: list[str]
    scores: dict[str, float]
    primary: str
    n_windows: int = 1
    capped: bool = False
    evidence_window: dict[str, int] = field(default_factory=dict)
    """For each label, the index of the window that gave its highest probability (0 with first-window
    aggregation, which scores only the first window)."""

    @property
    def chunked(self) -> bool:
        """True when the article was longer than one window."""
        return self.n_windows > 1


class EventClassifier:
    """Multi-label event classifier over articles of any length.

    >>> clf = EventClassifier.from_pretrained()  # doctest: +SKIP
    >>> clf.predict("North Korea fired two ballistic missiles into the sea off its east coast on Monday.").primary  # doctest: +SKIP
    'provocation'
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        config: dict[str, Any],
        precision: str | None = None,
        primary_head: PrimaryHead | None = None,
        lexical_head: LexicalHead | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.precision = model_precision(model, precision)  # None: as the weights are (bf16 or fp32)
        self.backend = "torch"  # or "onnxruntime" (from_pretrained(backend=...))
        self.primary_head = primary_head  # the trained 4-way primary ranking (primary_rule="head")
        self.lexical_head = lexical_head  # TF-IDF model mixed into the calibrated probabilities (defsum.lexical_head)
        self.token_pruning: dict[str, Any] | None = None  # the config's setting when from_pretrained applied it

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls, path: str | Path | None = None, *, device: str = "cpu", precision: str = DEFAULT_PRECISION,
        backend: str = "torch", token_pruning: bool = True,
    ) -> EventClassifier:
        """Load a classifier folder (``None`` = the default model shipped with defsum).

        ``precision`` picks the inference arithmetic: ``"auto"`` (bf16 on a GPU or a CPU with AMX,
        int8 on other x86 CPUs, else fp32; see ``DEFAULT_PRECISION``), ``"fp32"`` (plain torch),
        ``"bf16"`` (weights converted to bf16) or ``"int8"`` (dynamic int8 weights for linear
        layers, CPU only, one window per forward pass); see ``eval/benchmark.py``.
        ``backend="onnxruntime"`` (CPU, ``pip install 'defsum[onnx]'``) exports the model to ONNX
        at load (about 5 s) and runs it with ONNX Runtime, in ``"int8"`` (``"auto"``) or ``"fp32"``
        (:mod:`defsum.onnx_backend`).

        A BERT-family model's last layer runs for the first token only,
        the one its logits read (:mod:`defsum.first_token`; checked at load to give the same logits).
        When the folder's ``defsum_config.json`` sets ``token_pruning``, the torch backend drops the
        tokens the first token attends to least from that layer on (:mod:`defsum.token_pruning`;
        an approximation measured per model); ``token_pruning=False`` scores every token.

        Any Hugging Face sequence-classification checkpoint loads; its ``id2label`` gives the
        labels unless a ``defsum_config.json`` beside the weights says otherwise.

        >>> EventClassifier.from_pretrained("models/my-classifier")  # doctest: +SKIP
        """
        device = check_arithmetic(backend, precision, device)  # fails before the model loads
        if backend == "onnxruntime":
            precision = "int8" if precision == "auto" else precision
        where = resolve_model_path(path, "classifier")
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                where, dtype=torch.float32, output_loading_info=True, **pretrained_kwargs(),
                **({"attn_implementation": "eager"} if backend == "onnxruntime" else {}),  # the exporter traces eager attention
            )
            tokenizer = AutoTokenizer.from_pretrained(where, **pretrained_kwargs())
        except Exception as err:  # transformers and safetensors raise many kinds here
            raise model_load_error(where, "classifier", err) from err
        if info["missing_keys"]:  # a base model (no classification head) or a damaged checkpoint
            raise ModelLoadError(
                f"{where}: these weights are not in the checkpoint and would be random: {sorted(info['missing_keys'])[:4]}; "
                f"it is not a trained classifier (a base model?). Train one from it: "
                f"python training/train_classifier.py --base {where} --out my-classifier")
        if getattr(model.config, "is_encoder_decoder", False):
            raise ModelLoadError(f"{where}: a {model.config.model_type} encoder-decoder classifier; defsum's classifier "
                                 "reads windows with an encoder model (BERT, RoBERTa, DeBERTa, ELECTRA, ...)")
        check_vocabulary(tokenizer, model, where)
        defaults = dict(DEFAULTS)
        id2label = getattr(model.config, "id2label", None) or {}
        defaults["labels"] = [id2label[i] for i in sorted(id2label)] or list(LABELS)
        config = load_defsum_config(where, defaults) if Path(where).is_dir() else defaults
        try:
            head = PrimaryHead.load(where) if Path(where).is_dir() else None
        except Exception as err:  # a corrupt or foreign head file
            raise ModelLoadError(f"could not load {where}/primary_head.safetensors: {err}") from err
        try:
            lexical = LexicalHead.load(where) if Path(where).is_dir() else None
        except Exception as err:
            raise ModelLoadError(f"could not load {where}/{LEXICAL_FILE}: {err}") from err
        if lexical is not None and lexical.labels != config["labels"]:
            raise ModelLoadError(f"{where}/{LEXICAL_FILE}: labels {lexical.labels} differ from the classifier's {config['labels']}; "
                                 "refit it with training/train_classifier.py --calibrate-only ... --lexical-weight")
        cls._check_config(config, model, where, head)
        _fit_positions(config, model, tokenizer, where)
        float_model = model.to(device).eval()
        run_first_token_only(float_model)  # the same logits for a seventh less work on MiniLM (defsum.first_token)
        precision = resolve_precision(precision, device, int8=backend == "torch")
        setting = config["token_pruning"] if token_pruning and backend == "torch" and applies(config["token_pruning"], precision) else None
        pruned = setting is not None and prune_tokens(float_model, setting["layer"], setting["keep"])
        if setting is not None and not pruned:
            logger.warning("%s/defsum_config.json sets token_pruning, but this model's layout cannot be pruned "
                           "(defsum.token_pruning); it reads every token", where)
        if backend == "onnxruntime":
            from defsum.onnx_backend import OnnxEncoder

            runner: Any = OnnxEncoder(float_model, tokenizer.model_input_names, quantize=precision == "int8")
            clf = cls(runner, tokenizer, config, precision, head, lexical)
            clf.backend = "onnxruntime"
            clf._float_weights = lambda: float_model  # what save_pretrained writes
        else:
            clf = cls(prepare_for_inference(float_model, precision, device), tokenizer, config, precision, head, lexical)
            if precision != "fp32":  # the weights were converted in place: saving reads the float ones again
                clf._float_weights = partial(reload_float, where, AutoModelForSequenceClassification)
            clf.token_pruning = dict(setting) if pruned else None
        return clf

    @staticmethod
    def _check_config(config: dict[str, Any], model: Any, where: str, head: PrimaryHead | None = None) -> None:
        labels = config["labels"]
        if len(labels) != model.config.num_labels:
            raise ModelLoadError(
                f"{where}/defsum_config.json names {len(labels)} labels {labels} but the model "
                f"has {model.config.num_labels} outputs; retrain or fix the labels list"
            )
        thresholds = config["thresholds"] or {}
        if set(thresholds) - set(labels):
            raise ModelLoadError(
                f"{where}/defsum_config.json: thresholds for unknown labels "
                f"{sorted(set(thresholds) - set(labels))}"
            )
        if config["aggregation"] not in AGGREGATIONS:
            raise ModelLoadError(
                f"{where}/defsum_config.json: aggregation {config['aggregation']!r} is not one of {AGGREGATIONS}"
            )
        if config["primary_rule"] not in PRIMARY_RULES:
            raise ModelLoadError(
                f"{where}/defsum_config.json: primary_rule {config['primary_rule']!r} is not one of {PRIMARY_RULES}"
            )
        if config["primary_rule"] == "head" and head is None:
            raise ModelLoadError(
                f"{where}/defsum_config.json: primary_rule 'head' but there is no primary_head.safetensors; "
                "set primary_rule to 'max' or re-run the training script's calibration"
            )
        if head is not None and set(head.classes) - set(config["labels"]) - {NONE}:
            raise ModelLoadError(f"{where}/primary_head.safetensors: classes {head.classes} do not match the labels")
        if not config["temperature"] > 0:
            raise ModelLoadError(f"{where}/defsum_config.json: temperature must be > 0")
        try:
            check_setting(config["token_pruning"], getattr(model.config, "num_hidden_layers", None), f"{where}/defsum_config.json: token_pruning")
        except ValueError as err:
            raise ModelLoadError(str(err)) from err

    def save_pretrained(self, path: str | Path, *, card: str | None = None) -> None:
        """Write weights (safetensors), tokenizer, ``defsum_config.json``, the primary and lexical heads
        if any, and, when ``card`` is given, that text as the model card (``README.md``). An instance loaded
        in bf16 or int8 writes the float weights, read again from the folder it was loaded from.

        >>> clf.save_pretrained("models/my-classifier")  # doctest: +SKIP
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        float_weights = getattr(self, "_float_weights", None)
        (float_weights() if float_weights else self.model).save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        save_defsum_config(folder, self.config)
        for stored, name in ((self.primary_head, HEAD_FILE), (self.lexical_head, LEXICAL_FILE)):
            if stored is not None:
                stored.save(folder)
            else:
                (folder / name).unlink(missing_ok=True)  # a stale head from an earlier save would be loaded with these weights
        if card is not None:
            (folder / "README.md").write_text(card, encoding="utf-8")

    # ------------------------------------------------------------------ settings
    @property
    def _dynamic_int8(self) -> bool:
        """Does the model quantise its activations per call (torch or ONNX Runtime dynamic int8)?"""
        if self.backend == "onnxruntime":
            return bool(getattr(self.model, "quantized", False))
        return self.precision == "int8"

    @property
    def labels(self) -> list[str]:
        """The label of each model output, in order."""
        return list(self.config["labels"])

    @property
    def thresholds(self) -> np.ndarray:
        """The decision threshold of each label, in ``labels`` order."""
        given = self.config["thresholds"] or {}
        return np.array([float(given.get(label, 0.5)) for label in self.labels])

    # ------------------------------------------------------------------ inference
    @overload
    def predict(self, text: str, **kwargs: Any) -> Prediction: ...
    @overload
    def predict(self, text: Sequence[str], **kwargs: Any) -> list[Prediction]: ...

    def predict(
        self,
        text: str | Sequence[str],
        *,
        titles: str | Sequence[str | None] | None = None,
        batch_size: int = WINDOW_BATCH,
        show_progress_bar: bool | None = None,
    ) -> Prediction | list[Prediction]:
        """Tag one article (returns a ``Prediction``) or a list (returns a list).

        Long articles are split into overlapping windows that keep the title; all windows of
        all articles are scored in length-sorted batches, then aggregated per article (with
        first-window aggregation only each article's first window is scored).

        ``batch_size`` is the number of windows per forward pass. In int8 it is always one: dynamic
        int8 scales each pass's input as a whole, so a window scored beside others would get scores
        that depend on them (see ``DEFAULT_PRECISION``).

        >>> clf.predict(["First article ...", "Second ..."], batch_size=4)  # doctest: +SKIP
        [Prediction(...), Prediction(...)]
        """
        texts, single = as_texts(text)
        heads = as_titles(titles, len(texts), single)
        per_window, probs, windows, features = self._article_probs(texts, heads, batch_size, show_progress_bar)
        head = self._head_probs(features)
        preds = [self._decide(p, pw, w, None if head is None else head[k]) for k, (p, pw, w) in enumerate(zip(probs, per_window, windows))]
        return preds[0] if single else preds

    def predict_proba(
        self,
        text: str | Sequence[str],
        *,
        titles: str | Sequence[str | None] | None = None,
        batch_size: int = WINDOW_BATCH,
        aggregation: str | None = None,
        calibrated: bool = True,
    ) -> np.ndarray:
        """Article-by-label probabilities, shape ``(len(text), len(labels))``; one str is one
        article, shape ``(1, len(labels))``, as in :meth:`predict`.

        >>> clf.predict_proba(["..."]).shape  # doctest: +SKIP
        (1, 3)
        """
        texts, single = as_texts(text)
        heads = as_titles(titles, len(texts), single)
        _, probs, _, _ = self._article_probs(texts, heads, batch_size, False, aggregation, calibrated)
        return np.stack(probs) if probs else np.zeros((0, len(self.labels)), dtype=np.float32)

    def _article_probs(
        self,
        texts: list[str],
        titles: list[str | None],
        batch_size: int,
        show_progress_bar: bool | None,
        aggregation: str | None = None,
        calibrated: bool = True,
        features: bool | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[Windows], np.ndarray | None]:
        """Per-window probabilities, aggregated article probabilities (``calibrated``: after temperature
        scaling and mixed with the lexical head's, if any), the windows, and each article's
        first-window [CLS] vector (when ``features``; default: when there is a primary head).
        With "first" aggregation the per-window arrays hold the first window only (one row), while
        the windows are all there (``n_windows`` counts them)."""
        batch_size = check_count(batch_size, "batch_size")
        if aggregation is not None and aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS} (or None: the model's own), got {aggregation!r}")
        cfg = self.config
        windows = []
        for i, (body, head) in enumerate(zip(texts, titles)):
            if not isinstance(body, str):
                raise TypeError(f"text[{i}] is {type(body).__name__}, expected str")
            if not has_visible_text(body):
                raise ValueError(f"text[{i}] is empty or whitespace (or invisible characters) only; nothing to classify")
            check_encodable(body, f"text[{i}]")
            windows.append(self._windows(body, head))  # titles were checked by as_titles
        capped = [i for i, w in enumerate(windows) if w.capped]
        if capped:  # said once per call; each Prediction (and each CLI record's flags) says "capped"
            logger.warning("%d of %d articles (the first: text[%d]) are longer than the %d windows of %d tokens this classifier "
                           "reads (max_windows in its defsum_config.json); their ends are not scored (Prediction.capped)",
                           len(capped), len(texts), capped[0], cfg["max_windows"], cfg["max_length"])
        how = aggregation or cfg["aggregation"]
        # "first" reads nothing past an article's first window, so the other windows are not scored
        scored = [1 if how == "first" else len(w.input_ids) for w in windows]
        flat = [(a, j) for a, n in enumerate(scored) for j in range(n)]
        want = self.primary_head is not None if features is None else features
        logits, cls_vectors = self._score_windows(windows, flat, batch_size, show_progress_bar, want)
        temperature = cfg["temperature"] if calibrated else 1.0
        window_probs = 1.0 / (1.0 + np.exp(-logits / temperature))
        per_window: list[np.ndarray] = []
        start = 0
        for n in scored:
            per_window.append(window_probs[start : start + n])
            start += n
        first = None
        if cls_vectors is not None:
            first = cls_vectors[[k for k, (_, j) in enumerate(flat) if j == 0]]
        article = [_aggregate(p, how) for p in per_window]
        if calibrated and self.lexical_head is not None and article:
            article = list(self.lexical_head.mix(np.stack(article), texts, titles))
        return per_window, article, windows, first

    def windows(self, text: str, title: str | None = None) -> Windows:
        """The token windows this classifier scores for one article (its config's window size,
        overlap, title tokens and window cap).

        >>> len(clf.windows("A long article ...", "Title").input_ids)  # doctest: +SKIP
        3
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        check_encodable(text)
        check_title(title)
        return self._windows(text, title)

    def _windows(self, text: str, title: str | None) -> Windows:
        cfg = self.config
        return make_windows(self.tokenizer, text, title, max_length=cfg["max_length"], overlap=cfg["overlap"],
                            title_tokens=cfg["title_tokens"], max_windows=cfg["max_windows"])

    def _score_windows(
        self, windows: list[Windows], flat: list[tuple[int, int]], batch_size: int, show: bool | None, features: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Model logits (and, with ``features``, the last layer's first-token vector) for every
        window, computed in length-sorted batches, original order kept. On a CPU with at least two
        torch threads, the torch backend scores alternate batches in CPU_WORKERS threads that
        share the torch threads between them (see CPU_WORKERS)."""
        if self._dynamic_int8:
            batch_size = 1  # one scale per pass: a window's scores must not depend on its batch mates
        order = sorted(range(len(flat)), key=lambda k: len(windows[flat[k][0]].input_ids[flat[k][1]]))
        logits = np.zeros((len(flat), len(self.labels)), dtype=np.float32)
        vectors: list[np.ndarray | None] = [None]
        pad = pad_id(getattr(self.model, "config", None), self.tokenizer)
        device = self.model.device
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        # rounding up never pads past the window length or the model's positions
        limit = min(self.config["max_length"], position_limit(self.model) or self.config["max_length"])
        alloc = threading.Lock()

        def score(batch: list[int]) -> None:
            rows = [windows[flat[k][0]] for k in batch]
            seqs = [r.input_ids[flat[k][1]] for r, k in zip(rows, batch)]
            longest = max(len(s) for s in seqs)
            width = max(longest, min(-(-longest // PAD_MULTIPLE) * PAD_MULTIPLE, limit))
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, : len(s)] = torch.tensor(s)
                mask[i, : len(s)] = 1
            inputs = {"input_ids": ids, "attention_mask": mask}
            if rows[0].token_type_ids is not None:
                types = torch.zeros_like(ids)
                for i, (r, k) in enumerate(zip(rows, batch)):
                    t = r.token_type_ids[flat[k][1]]
                    types[i, : len(t)] = torch.tensor(t)
                inputs["token_type_ids"] = types
            out = self.model(**{k: v.to(device) for k, v in inputs.items()}, output_hidden_states=features)
            logits[batch] = out.logits.float().cpu().numpy()
            if features:
                first_token = out.hidden_states[-1][:, 0].float().cpu().numpy()
                with alloc:  # workers may reach this together
                    if vectors[0] is None:
                        vectors[0] = np.zeros((len(flat), first_token.shape[1]), dtype=np.float32)
                vectors[0][batch] = first_token

        threads = torch.get_num_threads()
        workers = min(CPU_WORKERS, threads, len(batches))
        # the workers change torch's process-wide thread count: only for the main thread, one call at a time
        if (workers >= 2 and self.backend == "torch" and str(device) == "cpu"
                and threading.current_thread() is threading.main_thread() and _WORKERS_LOCK.acquire(blocking=False)):
            try:
                self._score_in_workers(batches, score, workers, threads, show)
            finally:
                _WORKERS_LOCK.release()
            return logits, vectors[0]
        with torch.inference_mode(), autocast(self.precision, str(device)):
            for batch in progress(batches, show, desc="classifying", unit="batch"):
                score(batch)
        return logits, vectors[0]

    def _score_in_workers(self, batches: list[list[int]], score: Any, workers: int, threads: int, show: bool | None) -> None:
        """``score`` alternate batches in ``workers`` threads that share torch's ``threads`` (the
        count is restored after, also on an error or Ctrl-C)."""
        bar = progress(range(len(batches)), show, desc="classifying", unit="batch")
        lock = threading.Lock()

        stop = threading.Event()  # set when a worker fails or the call is interrupted: the other stops too

        def work(share: list[list[int]], own_threads: int) -> None:
            torch.set_num_threads(own_threads)  # this thread's share of the cores
            with torch.inference_mode(), autocast(self.precision, "cpu"):
                for batch in share:
                    if stop.is_set():
                        return
                    try:
                        score(batch)
                    except BaseException:
                        stop.set()
                        raise
                    if hasattr(bar, "update"):
                        with lock:
                            bar.update(1)

        try:
            with ThreadPoolExecutor(workers) as pool:
                # every core used: a thread count that does not divide evenly gives its extra threads
                # to the last workers, whose batches (each the longer of its group) are the longer ones
                shares = [threads // workers + (i >= workers - threads % workers) for i in range(workers)]
                futures = [pool.submit(work, batches[i::workers], shares[i]) for i in range(workers)]
                try:
                    for future in futures:
                        future.result()
                except BaseException:  # an error or Ctrl-C: the other worker stops after its batch
                    stop.set()
                    raise
        finally:
            torch.set_num_threads(threads)
            if hasattr(bar, "close"):
                bar.close()

    def _head_probs(self, features: np.ndarray | None) -> np.ndarray | None:
        """Primary-head probabilities in ``labels`` order (None without a head)."""
        if self.primary_head is None or features is None:
            return None
        probs = self.primary_head.probabilities(features)
        cols = [self.primary_head.classes.index(label) if label in self.primary_head.classes else -1 for label in self.labels]
        return np.stack([probs[:, c] if c >= 0 else np.zeros(len(probs)) for c in cols], axis=1)

    def _decide(
        self, article: np.ndarray, per_window: np.ndarray, windows: Windows, head: np.ndarray | None = None
    ) -> Prediction:
        labels = self.labels
        passed = [i for i in range(len(labels)) if article[i] >= self.thresholds[i]]
        primary = choose_primary(article, per_window[0], self.thresholds, labels, self.config["primary_rule"], head)
        return Prediction(
            labels=[labels[i] for i in passed],
            scores={label: shown_score(float(article[i]), float(self.thresholds[i])) for i, label in enumerate(labels)},
            primary=primary,
            n_windows=len(windows.input_ids),
            capped=windows.capped,
            evidence_window={label: int(per_window[:, i].argmax()) for i, label in enumerate(labels)},
        )


def shown_score(probability: float, threshold: float, digits: int = 4) -> float:
    """``probability`` rounded to ``digits`` places, on the same side of ``threshold`` as it is, so a
    shown score never contradicts the labels (0.69996 under a 0.7 threshold shows 0.6999, not 0.7).

    >>> shown_score(0.69996, 0.7), shown_score(0.70004, 0.7), shown_score(0.123456, 0.5)
    (0.6999, 0.7, 0.1235)
    """
    shown = round(probability, digits)
    step = 10.0 ** -digits
    if probability < threshold <= shown:
        shown = round(threshold - step, digits) if round(threshold, digits) == threshold else math.floor(threshold / step) * step
    elif shown < threshold <= probability:
        shown = round(math.ceil(threshold / step) * step, digits)
    return shown


def choose_primary(
    article: np.ndarray,
    first_window: np.ndarray,
    thresholds: np.ndarray,
    labels: Sequence[str],
    rule: str,
    head: np.ndarray | None = None,
) -> str:
    """The primary event: among labels at or above their threshold, the one ranked highest by
    ``rule`` ("max": article probability; "first_window": first-window probability; "head": the
    trained primary head's probability, given as ``head`` in ``labels`` order), else "none".

    >>> choose_primary(np.array([0.9, 0.8]), np.array([0.2, 0.7]), np.array([0.5, 0.5]), ["a", "b"], "first_window")
    'b'
    """
    passed = [i for i in range(len(labels)) if article[i] >= thresholds[i]]
    if not passed:
        return NONE
    if rule == "head":
        if head is None:
            raise ValueError("primary rule 'head' needs the primary head's probabilities")
        rank = head
    else:
        rank = first_window if rule == "first_window" else article
    return labels[max(passed, key=lambda i: (rank[i], article[i]))]


def _aggregate(window_probs: np.ndarray, how: str) -> np.ndarray:
    if how == "max":
        return window_probs.max(axis=0)
    if how == "mean":
        return window_probs.mean(axis=0)
    if how == "first":
        return window_probs[0]
    raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {how!r}")

