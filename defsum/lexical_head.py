"""The lexical head: TF-IDF over word 1-2 grams and one logistic regression per label, fitted on the
classifier's own training records and mixed into its calibrated probabilities,
``(1 - weight) * transformer + weight * lexical``, then rescaled by a temperature of its own fitted on
validation (which moves no decision: the thresholds are mapped with it). Stored beside the classifier
as ``lexical_head.safetensors`` (idf, coefficients; vocabulary, weight and temperature in its metadata).

The word-level model reads the whole article at once and errs on other articles than the
transformer does; the classifier's thresholds are tuned on the mix (``training/train_classifier.py
--lexical-weight``). Needs scikit-learn.

>>> head = LexicalHead.fit(["missiles fired at sea", "envoys hold talks", "missiles and talks", "talks on missiles"],
...                        [None] * 4, np.array([[1, 0], [0, 1], [1, 1], [1, 1]]), ["provocation", "diplomacy"],
...                        weight=0.5, min_df=1)
>>> head.probabilities(["more missiles fired"]).shape
(1, 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from defsum.metrics import apply_temperature
from defsum.modelio import load_arrays, save_arrays

FILENAME = "lexical_head.safetensors"
SETTINGS: dict[str, Any] = {"ngram_range": [1, 2], "sublinear_tf": True}
"""How text becomes TF-IDF features (scikit-learn ``TfidfVectorizer`` arguments; lower-cased words)."""


def article_text(text: str, title: str | None) -> str:
    """What the lexical head reads: the title, a line break, the text."""
    return f"{title or ''}\n{text}"


def blend(transformer: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * transformer + weight * lexical``: the mix before its temperature.

    >>> round(float(blend(np.array([0.2]), np.array([0.6]), 0.25)[0]), 6)
    0.3
    """
    return (1.0 - weight) * transformer + weight * lexical


def _vectorizer(**settings: Any) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=tuple(SETTINGS["ngram_range"]), sublinear_tf=SETTINGS["sublinear_tf"], **settings)


class LexicalHead:
    """``sigmoid(tfidf(title + text) @ coef.T + intercept)`` per label, mixed in at ``weight``; the mix is
    rescaled by ``temperature`` (as the classifier's own temperature rescales its logits)."""

    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 labels: Sequence[str], weight: float, temperature: float = 1.0) -> None:
        if coef.shape != (len(labels), len(vocabulary)) or idf.shape != (len(vocabulary),) or intercept.shape != (len(labels),):
            raise ValueError(f"lexical head shapes idf {idf.shape}, coef {coef.shape}, intercept {intercept.shape} do not match "
                             f"{len(vocabulary)} terms and {len(labels)} labels")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"lexical head weight must be in [0, 1], got {weight}")
        if not temperature > 0:
            raise ValueError(f"lexical head temperature must be > 0, got {temperature}")
        self.vocabulary = list(vocabulary)
        self.idf = idf.astype(np.float32)
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.labels = list(labels)
        self.weight = float(weight)
        self.temperature = float(temperature)
        self._vectorizer: Any = None

    def _features(self, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> Any:
        if self._vectorizer is None:
            vec = _vectorizer(vocabulary={t: i for i, t in enumerate(self.vocabulary)}, dtype=np.float32)
            vec.idf_ = self.idf
            self._vectorizer = vec
        titles = titles if titles is not None else [None] * len(texts)
        return self._vectorizer.transform([article_text(t, h) for t, h in zip(texts, titles)])

    def probabilities(self, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> np.ndarray:
        """Per-label probabilities of the word-level model alone, shape ``(len(texts), len(labels))``."""
        z = np.asarray(self._features(texts, titles) @ self.coef.T) + self.intercept
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def mix(self, probs: np.ndarray, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> np.ndarray:
        """``probs`` (the transformer's, calibrated) mixed with this head's at ``weight``, then rescaled
        by ``temperature``."""
        if len(texts) == 0:
            return probs
        return self.combine(probs, self.probabilities(texts, titles) if self.weight else probs)

    def combine(self, probs: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """:meth:`mix` with this head's probabilities already computed (``lexical``)."""
        mixed = blend(probs, lexical, self.weight)
        return mixed if self.temperature == 1.0 else apply_temperature(mixed, self.temperature)

    @classmethod
    def fit(cls, texts: Sequence[str], titles: Sequence[str | None], targets: np.ndarray, labels: Sequence[str], *,
            weight: float, sample_weight: np.ndarray | None = None, known: np.ndarray | None = None,
            min_df: int = 2, max_features: int = 50000, c: float = 10.0) -> LexicalHead:
        """Fit on articles and their 0/1 ``targets`` (n x labels). ``sample_weight`` weights records (weak
        labels) and ``known`` (n x labels, bool) leaves a record out of the labels it does not speak for,
        as the classifier's loss does."""
        from sklearn.linear_model import LogisticRegression

        targets = np.asarray(targets)
        n = len(texts)
        sample_weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        known = np.ones(targets.shape, dtype=bool) if known is None else np.asarray(known, dtype=bool)
        vec = _vectorizer(min_df=min_df, max_features=max_features)
        x = vec.fit_transform([article_text(t, h) for t, h in zip(texts, titles)])
        coef, intercept = [], []
        for j, label in enumerate(labels):
            rows = known[:, j]
            if len(set(targets[rows, j].tolist())) < 2:
                raise ValueError(f"the lexical head needs positive and negative records of {label!r} to fit")
            lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            lr.fit(x[rows], targets[rows, j], sample_weight=sample_weight[rows])
            coef.append(lr.coef_[0])
            intercept.append(lr.intercept_[0])
        return cls(vec.get_feature_names_out().tolist(), vec.idf_, np.stack(coef), np.array(intercept), labels, weight)

    def save(self, folder: str | Path) -> None:
        """Write ``lexical_head.safetensors``."""
        save_arrays(Path(folder) / FILENAME, {"idf": self.idf, "coef": self.coef, "intercept": self.intercept},
                    {"labels": self.labels, "weight": self.weight, "temperature": self.temperature, "vocabulary": self.vocabulary,
                     "settings": SETTINGS})

    @classmethod
    def load(cls, folder: str | Path) -> LexicalHead | None:
        """The head stored in ``folder``, or None when there is none."""
        path = Path(folder) / FILENAME
        stored = load_arrays(path)
        if stored is None:
            return None
        try:
            import sklearn  # noqa: F401  (the head's TF-IDF features)
        except ImportError as err:
            raise ValueError(f"{path} needs scikit-learn: pip install scikit-learn") from err
        arrays, meta = stored
        missing = {"labels", "weight", "vocabulary"} - set(meta)
        if missing:
            raise ValueError(f"{path}: no {sorted(missing)} in its metadata; refit it with training/train_classifier.py --lexical-weight")
        if meta.get("settings", SETTINGS) != SETTINGS:
            raise ValueError(f"{path}: TF-IDF settings {meta['settings']} differ from this defsum's {SETTINGS}; refit the head")
        return cls(meta["vocabulary"], arrays["idf"], arrays["coef"], arrays["intercept"], meta["labels"], meta["weight"],
                   meta.get("temperature", 1.0))
