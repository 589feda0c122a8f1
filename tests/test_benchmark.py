"""The benchmark's ONNX Runtime row scores what the torch model scores; its token counts and per-token ratios."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from defsum import EventClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from benchmark import OnnxInt8Encoder, per_token_ratio, token_counts  # noqa: E402


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
    pytest.importorskip("onnxruntime", reason="onnxruntime is an optional benchmark dependency (pip install -e '.[bench]')")
    pytest.importorskip("onnx", reason="onnx is an optional benchmark dependency (pip install -e '.[bench]')")
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
    clf.tokenizer.model_max_length = 100  # the pipeline's cut, independent of defsum's window size
    texts, titles = ["Talks resumed.", "Talks resumed in Geneva on Monday after a year. " * 20], ["Geneva", "Geneva"]
    joined = [f"{h}\n\n{t}" for h, t in zip(titles, texts)]
    got = token_counts(clf, joined, texts, titles)
    short, full = (len(clf.tokenizer(j)["input_ids"]) for j in joined)
    assert full > 200
    assert got["pipeline"] == short + 100  # the long article cut where the pipeline cuts it
    assert got["first_window"] == short + 1 + 64  # title and text as a pair: one more [SEP]
    # every window of the long article: all of its tokens, plus a title and 16 overlapping tokens per extra window
    assert got["windows"] - (short + 1) > full + 16


def test_per_token_ratio_credits_the_extra_tokens() -> None:
    assert per_token_ratio(10.0, 10.0, 100, 100) == 1.0
    assert per_token_ratio(10.0, 5.0, 100, 100) == 2.0
    assert per_token_ratio(10.0, 10.0, 124, 100) == 1.24  # as fast per article on 24% more tokens
