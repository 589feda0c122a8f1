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
from benchmark import OnnxInt8Encoder, token_counts  # noqa: E402


@pytest.fixture(scope="module")
def spread_classifier_dir(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny classifier with large random weights, so that different inputs give clearly different outputs."""
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in clf.model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.3)
    folder = tmp_path_factory.mktemp("spread_classifier")
    clf.save_pretrained(folder)
    return folder


def test_onnx_int8_encoder_matches_torch(spread_classifier_dir: Path, tmp_path: Path) -> None:
    clf = EventClassifier.from_pretrained(spread_classifier_dir, precision="fp32")
    encoder = OnnxInt8Encoder(str(spread_classifier_dir), str(tmp_path))
    texts = ["Seoul said a North Korean diplomat had defected to the South last year.", "Talks resumed."]
    enc = clf.tokenizer(texts, padding=True, return_tensors="pt")  # the second row is padded: the mask matters
    with torch.inference_mode():
        want = clf.model(**enc, output_hidden_states=True)
    got = encoder(**enc, output_hidden_states=True)
    between_rows = float((want.logits[0] - want.logits[1]).abs().max())
    assert between_rows > 0.5
    assert float((got.logits - want.logits).abs().max()) < 0.2 * between_rows  # int8 weights: close, not equal
    want_cls, got_cls = want.hidden_states[-1][:, 0], got.hidden_states[-1][:, 0]
    assert float((got_cls - want_cls).abs().max()) < 0.2 * float((want_cls[0] - want_cls[1]).abs().max())
    # inside the classifier: the same article scores, a long article's windows included
    onnx_clf = EventClassifier(encoder, clf.tokenizer, clf.config, "fp32", clf.primary_head)
    articles = [texts[0], "Talks resumed in Geneva on Monday after a year. " * 40]
    want_p, got_p = clf.predict_proba(articles, batch_size=3), onnx_clf.predict_proba(articles, batch_size=3)
    assert float(np.abs(want_p[0] - want_p[1]).max()) > 0.05
    np.testing.assert_allclose(got_p, want_p, atol=0.2 * float(np.abs(want_p[0] - want_p[1]).max()))


def test_token_counts_show_the_extra_work_of_reading_whole_articles(tiny_classifier_dir: Path) -> None:
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")  # 64-token windows, 16 overlap
    texts, titles = ["Talks resumed.", "Talks resumed in Geneva on Monday after a year. " * 20], ["Geneva", "Geneva"]
    joined = [f"{h}\n\n{t}" for h, t in zip(titles, texts)]
    got = token_counts(clf, joined, texts, titles)
    short = len(clf.tokenizer(joined[0])["input_ids"])
    assert got["pipeline"] == short + 64  # the long article cut at max_length
    assert got["first_window"] == short + 1 + 64  # title and text as a pair: one more [SEP]
    assert got["windows"] > 3 * 64  # every window of the long article, overlaps included
