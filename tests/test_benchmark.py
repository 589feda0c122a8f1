"""The benchmark's ONNX Runtime row scores what the torch model scores."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from defsum import EventClassifier

pytest.importorskip("onnxruntime", reason="onnxruntime is an optional benchmark dependency (pip install -e '.[bench]')")
pytest.importorskip("onnx", reason="onnx is an optional benchmark dependency (pip install -e '.[bench]')")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from benchmark import OnnxInt8Encoder  # noqa: E402


def test_onnx_int8_encoder_matches_torch(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    encoder = OnnxInt8Encoder(str(tiny_classifier_dir), str(tmp_path))
    enc = clf.tokenizer(["Seoul said a North Korean diplomat had defected.", "Talks resumed in Geneva on Monday after a year."],
                        padding=True, return_tensors="pt")
    with torch.inference_mode():
        want = clf.model(**enc, output_hidden_states=True)
    got = encoder(**enc, output_hidden_states=True)
    assert got.logits.shape == want.logits.shape
    spread = float(want.logits.abs().max())
    assert spread > 0
    np.testing.assert_allclose(got.logits.numpy(), want.logits.numpy(), atol=0.1 * spread)  # int8 weights: close, not equal
    np.testing.assert_allclose(got.hidden_states[-1][:, 0].numpy(), want.hidden_states[-1][:, 0].numpy(), atol=0.2)
    # and it drops into the classifier: same windows, same number of predictions
    onnx_clf = EventClassifier(encoder, clf.tokenizer, clf.config, "fp32", clf.primary_head)
    texts = ["Seoul said a North Korean diplomat had defected.", "Talks resumed in Geneva on Monday. " * 60]
    assert [p.n_windows for p in onnx_clf.predict(texts)] == [p.n_windows for p in clf.predict(texts)]
