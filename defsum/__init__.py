"""defsum: tag security-news articles by event type and write short briefs.

>>> import defsum
>>> clf = defsum.EventClassifier.from_pretrained()          # doctest: +SKIP
>>> clf.predict("North Korea fired a ballistic missile.")   # doctest: +SKIP
Prediction(labels=['provocation'], ...)
"""

from __future__ import annotations

__version__ = "0.1.0"

from defsum.classifier import EventClassifier, Prediction
from defsum.labels import LABELS
from defsum.modelio import ModelLoadError
from defsum.pipeline import Analyzer, Brief
from defsum.summarizer import Summarizer

__all__ = [
    "Analyzer",
    "Brief",
    "EventClassifier",
    "LABELS",
    "ModelLoadError",
    "Prediction",
    "Summarizer",
    "__version__",
]
