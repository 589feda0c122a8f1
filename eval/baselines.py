"""Baselines that every defsum model is measured against, on the same splits.

- keyword rules: a regular expression per label;
- TF-IDF + logistic regression (scikit-learn), one classifier per label, thresholds tuned on validation;
- zero-shot similarity: cosine between mean-pooled all-MiniLM-L6-v2 embeddings of the article and
  of each label's definition, thresholds tuned on validation.

Each is fitted on the classifier's own training data: the corpus train split and the weak labels
from ../shared/data (weight 0.5), as ``training/train_classifier.py`` uses them.

Usage: python eval/baselines.py [--train data/corpus/train.jsonl ...] [--weak data/weak/weak_news.jsonl] [--validation ...] [--test ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from defsum.data import known_labels, label_matrix, read_records  # noqa: E402
from defsum.labels import DEFINITIONS, LABELS, NONE  # noqa: E402
from defsum.lexical_head import LexicalHead  # noqa: E402
from defsum.metrics import classification_metrics, tune_thresholds  # noqa: E402

KEYWORDS = {
    "elite_defection": re.compile(r"\bdefect(ed|ing|ion|or|ors|s)?\b|\basylum\b|\bsought refuge\b", re.I),
    "provocation": re.compile(
        r"\b(missile|rocket|ballistic|nuclear test|artillery|shell(ed|ing)|incursion|airspace|fired|launch(ed|es)?|"
        r"drone|balloons?|cyberattack|seized?|threat(en|ened|s)?|warplanes?)\b", re.I),
    "diplomacy": re.compile(
        r"\b(talks|summit|envoy|ambassador|foreign minister|diplomatic (ties|relations)|treaty|agreement|sanctions?|"
        r"security council|resolution|negotiat\w+|dialogue|joint statement|protest(ed)?)\b", re.I),
}


def text_of(r: dict[str, Any]) -> str:
    return f"{r.get('title') or ''}\n{r['text']}"


def primary_from(probs: np.ndarray, yhat: np.ndarray) -> list[str]:
    out = []
    for p, y in zip(probs, yhat):
        out.append(LABELS[int(np.argmax(np.where(y > 0, p, -1)))] if y.any() else NONE)
    return out


class KeywordBaseline:
    """Tags a label when its pattern matches at least twice (once for short texts)."""

    def fit(self, train: list[dict], val: list[dict]) -> "KeywordBaseline":
        return self

    def predict(self, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        counts = np.array([[len(KEYWORDS[l].findall(text_of(r))) for l in LABELS] for r in rows], dtype=float)
        need = np.array([[1 if len(r["text"].split()) < 200 else 2] for r in rows])
        yhat = (counts >= need).astype(int)
        return yhat, counts / (counts.sum(1, keepdims=True) + 1e-9)


def fit_lexical_head(rows: list[dict]) -> LexicalHead:
    """TF-IDF + logistic regression per label (weight 1) fitted on records, at their ``weight`` and
    with their ``known_labels``, as the classifier's loss weights and masks them."""
    return LexicalHead.fit([r["text"] for r in rows], [r.get("title") or None for r in rows], np.array(label_matrix(rows)),
                           LABELS, weight=1.0, sample_weight=np.array([float(r.get("weight", 1.0)) for r in rows]),
                           known=np.array([known_labels(r) for r in rows]))


class TfidfBaseline:
    """TF-IDF (word 1-2 grams) + one logistic regression per label (``defsum.lexical_head``, alone);
    thresholds tuned on validation.
    A record's ``weight`` (default 1) weights it in the fit, as the classifier's loss weights weak labels,
    and a record with ``known_labels`` is fitted only for those labels, as the classifier's loss masks
    the others (``training/weak_labels.py --news-negatives`` writes such records)."""

    def fit(self, train: list[dict], val: list[dict]) -> "TfidfBaseline":
        self.head = fit_lexical_head(train)
        self.th = tune_thresholds(np.array(label_matrix(val)), self._proba(val))
        return self

    def _proba(self, rows: list[dict]) -> np.ndarray:
        return self.head.probabilities([r["text"] for r in rows], [r.get("title") or None for r in rows])

    def predict(self, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        p = self._proba(rows)
        return (p >= self.th).astype(int), p


class ZeroShotBaseline:
    """Cosine similarity of MiniLM sentence embeddings to the label definitions."""

    def fit(self, train: list[dict], val: list[dict]) -> "ZeroShotBaseline":
        from transformers import AutoModel, AutoTokenizer

        from defsum.modelio import base_model_path, pretrained_kwargs

        self.tok = AutoTokenizer.from_pretrained(base_model_path(), **pretrained_kwargs())
        self.model = AutoModel.from_pretrained(base_model_path(), **pretrained_kwargs()).eval()
        self.labels_emb = self._embed([f"{l.replace('_', ' ')}: {DEFINITIONS[l]}" for l in LABELS])
        self.th = tune_thresholds(np.array(label_matrix(val)), self._sim(val), grid=np.round(np.arange(-0.2, 0.8, 0.01), 3))
        return self

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 32):
                enc = self.tok(texts[i : i + 32], truncation=True, max_length=256, padding=True, return_tensors="pt")
                h = self.model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).float()
                e = (h * m).sum(1) / m.sum(1)
                out.append(torch.nn.functional.normalize(e, dim=-1).numpy())
        return np.concatenate(out)

    def _sim(self, rows: list[dict]) -> np.ndarray:
        return self._embed([text_of(r) for r in rows]) @ self.labels_emb.T

    def predict(self, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        s = self._sim(rows)
        return (s >= self.th).astype(int), s


BASELINES = {"keyword rules": KeywordBaseline, "TF-IDF + logistic regression": TfidfBaseline, "zero-shot MiniLM similarity": ZeroShotBaseline}


def score(yhat: np.ndarray, probs: np.ndarray, rows: list[dict]) -> dict[str, Any]:
    """Classification metrics and primary accuracy of predictions on rows."""
    m = classification_metrics(np.array(label_matrix(rows)), yhat, LABELS)
    m["primary_accuracy"] = round(float(np.mean([p == r["primary"] for p, r in zip(primary_from(probs, yhat), rows)])), 4)
    return m


def run_baselines(train: list[dict], val: list[dict], tests: dict[str, list[dict]], names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Fit each baseline on train (+ validation thresholds) and score it on each test set."""
    out: dict[str, dict[str, Any]] = {}
    for name, cls in BASELINES.items():
        if names and name not in names:
            continue
        model = cls().fit(train, val)
        out[name] = {test_name: score(*model.predict(rows), rows) for test_name, rows in tests.items()}
    return out


WEAK_COMMANDS = {
    "data/weak/weak_news.jsonl": "python training/weak_labels.py --shared ../shared/data --per-source 100 --news-negatives 600 "
                                 "--out data/weak/weak_news.jsonl",  # the shipped classifier's (session 21)
    "data/weak/weak.jsonl": "python training/weak_labels.py --shared ../shared/data --per-source 100 --keep-copies",  # the release before
}
"""How the weak labels of the shipped classifier and of the release before it (not in git) are made."""


def training_rows(train: Sequence[str | Path], weak: Sequence[str | Path] = (), weak_weight: float = 0.5) -> list[dict]:
    """The records to fit the baselines on: ``train`` files at weight 1 and ``weak`` label files at
    ``weak_weight``, as ``training/train_classifier.py`` weights them. A missing weak file is an
    error that says how to make it."""
    rows = [r for f in train for r in read_records(f)]
    for f in [f for f in weak if str(f)]:  # an empty name ('') is no file
        if not Path(f).is_file():
            how = WEAK_COMMANDS.get(Path(f).as_posix(), f"python training/weak_labels.py --shared ../shared/data --out {f}")
            raise FileNotFoundError(f"{f} is missing: the baselines train on the classifier's own data; make it with "
                                    f"`{how}`, or give --weak with no file to fit them without it")
        rows += [dict(r, weight=weak_weight) for r in read_records(f)]
    return rows


def model_training_data(model_folder: str | Path) -> tuple[list[str], list[str], float]:
    """``(train files, weak files, weak weight)`` a classifier was trained on, from its training_report.json.

    >>> model_training_data("defsum/models/classifier")  # doctest: +SKIP
    (['data/corpus/train.jsonl', 'data/hard_negatives/train.jsonl', 'data/supplement/train.jsonl'], ['data/weak/weak_news.jsonl'], 0.5)
    """
    report = json.loads((Path(model_folder) / "training_report.json").read_text(encoding="utf-8"))
    args = report.get("args", {})
    return list(report.get("train_files") or args.get("train") or []), list(report.get("weak_files") or []), float(args.get("weak_weight", 0.5))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", nargs="+", default=None,
                   help="labelled training files (weight 1; default: the shipped classifier's, from its training_report.json)")
    p.add_argument("--weak", nargs="*", default=None,
                   help=f"weak-label files, weighted by --weak-weight (default: the shipped classifier's, e.g. "
                        f"`{WEAK_COMMANDS['data/weak/weak_news.jsonl']}`; none: --weak)")
    p.add_argument("--weak-weight", type=float, default=None,
                   help="fit weight of a weak record (default: the shipped classifier's)")
    p.add_argument("--validation", default="data/corpus/validation.jsonl")
    p.add_argument("--test", default="data/corpus/test.jsonl")
    p.add_argument("--only", nargs="*", default=None, help="names of baselines to run")
    args = p.parse_args(argv)
    shipped_train, shipped_weak, shipped_weight = model_training_data(Path(__file__).resolve().parents[1] / "defsum/models/classifier")
    train = training_rows(shipped_train if args.train is None else args.train, shipped_weak if args.weak is None else args.weak,
                          shipped_weight if args.weak_weight is None else args.weak_weight)
    res = run_baselines(train, read_records(args.validation), {"test": read_records(args.test)}, args.only)
    for name, r in res.items():
        t = r["test"]
        print(f"{name:32s} macro-F1 {t['macro_f1']:.3f}  micro-F1 {t['micro_f1']:.3f}  primary acc {t['primary_accuracy']:.3f}  "
              + "  ".join(f"{l} {v['f1']:.3f}" for l, v in t["per_label"].items()))


if __name__ == "__main__":
    main()
