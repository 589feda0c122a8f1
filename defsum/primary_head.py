"""The trained primary-event head: a 4-way softmax (each label or "none") over the classifier's
first-window [CLS] vector, stored beside the classifier as ``primary_head.safetensors``.

It only ranks: the primary event is still one of the labels that passed their thresholds (or
"none" when none did), so tags and primary never disagree.

>>> head = PrimaryHead(np.zeros((2, 3)), np.array([0.0, 1.0]), ["provocation", "none"])
>>> head.probabilities(np.ones((1, 3))).astype(float).round(2).tolist()
[[0.27, 0.73]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from defsum.modelio import load_arrays, save_arrays

FILENAME = "primary_head.safetensors"
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


class PrimaryHead:
    """Multinomial logistic regression: ``softmax(features @ weight.T + bias)`` over ``classes``."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, classes: Sequence[str], c: float | None = None) -> None:
        if weight.shape[0] != len(classes) or bias.shape != (len(classes),):
            raise ValueError(f"head shapes {weight.shape}, {bias.shape} do not match {len(classes)} classes")
        self.weight = weight.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.classes = list(classes)
        self.c = c

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, len(classes))``."""
        z = features.astype(np.float32) @ self.weight.T + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @classmethod
    def fit(cls, features: np.ndarray, targets: Sequence[str], c: float = 1.0, seed: int = 0) -> PrimaryHead:
        """Fit on ``features`` (n x hidden) and primary-event names (needs scikit-learn)."""
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(features, list(targets))
        if len(lr.classes_) == 2:  # binary: scikit-learn keeps one row; expand to a row per class
            weight = np.vstack([-lr.coef_[0] / 2, lr.coef_[0] / 2])
            bias = np.array([-lr.intercept_[0] / 2, lr.intercept_[0] / 2])
        else:
            weight, bias = lr.coef_, lr.intercept_
        return cls(weight, bias, [str(x) for x in lr.classes_], c)

    def save(self, folder: str | Path) -> None:
        """Write ``primary_head.safetensors`` (weights, with the class names in its metadata)."""
        save_arrays(Path(folder) / FILENAME, {"weight": self.weight, "bias": self.bias}, {"classes": self.classes, "C": self.c})

    @classmethod
    def load(cls, folder: str | Path) -> PrimaryHead | None:
        """The head stored in ``folder``, or None when there is none."""
        path = Path(folder) / FILENAME
        stored = load_arrays(path)
        if stored is None:
            return None
        arrays, meta = stored
        if "classes" not in meta:
            raise ValueError(f"{path}: no 'classes' in its metadata; re-run the training script's calibration")
        return cls(arrays["weight"], arrays["bias"], meta["classes"], meta.get("C"))
