"""Classification metrics used by training and evaluation: F1, calibration, thresholds, CIs."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def classification_metrics(
    y: np.ndarray, yhat: np.ndarray, labels: Sequence[str], macro_over: np.ndarray | None = None
) -> dict:
    """Per-label precision/recall/F1 and macro/micro F1 of 0/1 matrices (rows = articles).

    Macro-F1 averages the labels that occur in ``y`` (or those ``macro_over``, a boolean mask,
    selects; a bootstrap passes the full set's so that every resample measures the same thing): a
    label with no gold positive has no defined F1 (its false positives still count in micro-F1).

    >>> m = classification_metrics(np.array([[1, 0]]), np.array([[1, 1]]), ["a", "b"])
    >>> m["per_label"]["a"]["f1"], m["macro_f1"], m["micro_f1"]
    (1.0, 1.0, 0.6667)
    """
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    y, yhat = np.asarray(y), np.asarray(yhat)
    p, r, f, s = precision_recall_fscore_support(y, yhat, average=None, zero_division=0, labels=range(len(labels)))
    keep = s > 0 if macro_over is None else np.asarray(macro_over, dtype=bool)
    return {
        "per_label": {l: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4), "support": int(s[i])}
                      for i, l in enumerate(labels)},
        "macro_f1": round(float(f[keep].mean()) if keep.any() else 0.0, 4),
        "micro_f1": round(float(f1_score(y, yhat, average="micro", zero_division=0)), 4),
    }


def tune_thresholds(y: np.ndarray, probs: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """For each label, the threshold on ``grid`` that maximises its F1 (ties: closest to 0.5).

    >>> bool(tune_thresholds(np.array([[1], [0]]), np.array([[0.3], [0.1]]))[0] > 0.1)
    True
    """
    from sklearn.metrics import f1_score

    grid = np.round(np.arange(0.05, 0.96, 0.025), 3) if grid is None else grid
    out = []
    for j in range(y.shape[1]):
        f1s = [f1_score(y[:, j], probs[:, j] >= t, zero_division=0) for t in grid]
        best = max(f1s)
        out.append(min((t for t, f in zip(grid, f1s) if f >= best - 1e-9), key=lambda t: abs(t - 0.5)))
    return np.array(out)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_temperature(y: np.ndarray, probs: np.ndarray) -> float:
    """The temperature T minimising binary cross-entropy of ``sigmoid(logit(probs) / T)``.

    >>> bool(fit_temperature(np.array([[1], [0]]), np.array([[0.99], [0.98]])) > 1)
    True
    """
    z = _logit(probs)
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 200))
    losses = []
    for t in grid:
        q = np.clip(1 / (1 + np.exp(-z / t)), 1e-7, 1 - 1e-7)
        losses.append(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
    return float(grid[int(np.argmin(losses))])


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities as if their logits were divided by ``temperature``."""
    return 1 / (1 + np.exp(-_logit(probs) / temperature))


def expected_calibration_error(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """ECE over all (article, label) probabilities, in ``bins`` equal-width bins.

    >>> expected_calibration_error(np.array([[1, 0]]), np.array([[1.0, 0.0]]))
    0.0
    """
    y, p = np.asarray(y).ravel(), np.asarray(probs).ravel()
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return round(float(ece), 4)


def bootstrap_ci(metric: Callable[[np.ndarray], float], n: int, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of ``metric(indices)`` over ``n`` items resampled with replacement.

    >>> lo, hi = bootstrap_ci(lambda idx: float(np.mean(np.arange(10)[idx])), 10, rounds=200)
    >>> lo < 4.5 < hi
    True
    """
    rng = np.random.default_rng(seed)
    values = [metric(rng.integers(0, n, n)) for _ in range(rounds)]
    return round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)
