"""The ONNX Runtime backend scores what the torch model scores (exactly in fp32, closely in int8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from defsum import EventClassifier

pytest.importorskip("onnxruntime", reason="onnxruntime is optional (pip install -e '.[onnx]')")
pytest.importorskip("onnx", reason="onnx is optional (pip install -e '.[onnx]')")

TEXTS = ["Seoul said a North Korean diplomat had defected to the South last year.", "Talks resumed."]
ARTICLES = [TEXTS[0], "Talks resumed in Geneva on Monday after a year. " * 40]  # the second has several windows


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


@pytest.fixture(scope="module")
def torch_clf(spread_classifier_dir: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(spread_classifier_dir, precision="fp32")


def test_fp32_session_equals_torch(spread_classifier_dir: Path, torch_clf: EventClassifier) -> None:
    clf = EventClassifier.from_pretrained(spread_classifier_dir, backend="onnxruntime", precision="fp32")
    assert (clf.backend, clf.precision) == ("onnxruntime", "fp32")
    want, got = torch_clf.predict_proba(ARTICLES, batch_size=3), clf.predict_proba(ARTICLES, batch_size=3)
    assert float(np.abs(want[0] - want[1]).max()) > 0.05
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert [p.primary for p in clf.predict(ARTICLES)] == [p.primary for p in torch_clf.predict(ARTICLES)]


def test_int8_session_is_close_to_torch(spread_classifier_dir: Path, torch_clf: EventClassifier) -> None:
    clf = EventClassifier.from_pretrained(spread_classifier_dir, backend="onnxruntime")  # "auto" = int8
    assert (clf.backend, clf.precision) == ("onnxruntime", "int8")
    enc = clf.tokenizer(TEXTS, padding=True, return_tensors="pt")  # the second row is padded: the mask matters
    with torch.inference_mode():
        want = torch_clf.model(**enc, output_hidden_states=True)
    got = clf.model(**enc, output_hidden_states=True)
    between_rows = float((want.logits[0] - want.logits[1]).abs().max())
    assert between_rows > 0.5
    assert 0 < float((got.logits - want.logits).abs().max()) < 0.2 * between_rows  # int8 weights: close, not equal
    want_cls, got_cls = want.hidden_states[-1][:, 0], got.hidden_states[-1][:, 0]
    assert float((got_cls - want_cls).abs().max()) < 0.2 * float((want_cls[0] - want_cls[1]).abs().max())
    want_p, got_p = torch_clf.predict_proba(ARTICLES, batch_size=3), clf.predict_proba(ARTICLES, batch_size=3)
    np.testing.assert_allclose(got_p, want_p, atol=0.2 * float(np.abs(want_p[0] - want_p[1]).max()))


def test_onnx_classifier_saves_its_float_weights(spread_classifier_dir: Path, torch_clf: EventClassifier, tmp_path: Path) -> None:
    EventClassifier.from_pretrained(spread_classifier_dir, backend="onnxruntime").save_pretrained(tmp_path)
    reloaded = EventClassifier.from_pretrained(tmp_path, precision="fp32")
    np.testing.assert_allclose(reloaded.predict_proba(ARTICLES), torch_clf.predict_proba(ARTICLES), atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"precision": "bf16"}, "backend"),
    ({"device": "cuda"}, "backend" if torch.cuda.is_available() else "no CUDA GPU"),  # without a GPU, that is said first
    ({"backend": "tensorrt"}, "backend"),
])
def test_unsupported_settings_are_refused(spread_classifier_dir: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventClassifier.from_pretrained(spread_classifier_dir, **{"backend": "onnxruntime", **kwargs})


def test_command_line_backend(spread_classifier_dir: Path, tmp_path: Path) -> None:
    from defsum.cli import EXIT_OK, main

    (tmp_path / "in").mkdir()
    for i, text in enumerate(ARTICLES):
        (tmp_path / "in" / f"a{i}.txt").write_text(text)
    common = ["score", str(tmp_path / "in"), "--classifier", str(spread_classifier_dir), "--no-summary", "-q"]
    assert main([*common, "-o", str(tmp_path / "ort.jsonl"), "--backend", "onnxruntime"]) == EXIT_OK
    assert main([*common, "-o", str(tmp_path / "torch.jsonl")]) == EXIT_OK
    ort, plain = ([json.loads(line) for line in (tmp_path / name).read_text().splitlines()] for name in ("ort.jsonl", "torch.jsonl"))
    assert [r["path"] for r in ort] == [r["path"] for r in plain] and all(r["error"] is None for r in ort)
    for a, b in zip(ort, plain):
        assert max(abs(a["scores"][k] - b["scores"][k]) for k in a["scores"]) < 0.2


def test_inputs_the_exported_graph_drops_are_not_fed(tokenizer, tmp_path: Path) -> None:
    """DeBERTa-v2 without token types: the tokenizer still gives token_type_ids, the exported graph has no such input."""
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    from defsum.classifier import DEFAULTS
    from defsum.labels import LABELS

    torch.manual_seed(0)
    config = DebertaV2Config(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=64, type_vocab_size=0, num_labels=len(LABELS),
                             id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    EventClassifier(DebertaV2ForSequenceClassification(config).eval(), tokenizer, dict(DEFAULTS, max_length=64, overlap=16, title_tokens=8)
                    ).save_pretrained(tmp_path)
    onnx = EventClassifier.from_pretrained(tmp_path, backend="onnxruntime", precision="fp32")
    plain = EventClassifier.from_pretrained(tmp_path, precision="fp32")
    assert "token_type_ids" not in onnx.model.input_names
    for a, b in zip(onnx.predict(ARTICLES), plain.predict(ARTICLES)):
        assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_loading_keeps_the_callers_logging_setting(spread_classifier_dir: Path) -> None:
    import logging

    logging.disable(logging.INFO)
    try:
        EventClassifier.from_pretrained(spread_classifier_dir, backend="onnxruntime")
        assert logging.root.manager.disable == logging.INFO  # it used to be reset to NOTSET
    finally:
        logging.disable(logging.NOTSET)


@pytest.mark.parametrize("full_range", [True, False])
def test_int8_weights_take_7_bits_where_8_bit_products_overflow(spread_classifier_dir: Path, monkeypatch, full_range: bool) -> None:
    import onnxruntime.quantization

    import defsum.onnx_backend

    calls: list[dict] = []
    real = onnxruntime.quantization.quantize_dynamic
    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    monkeypatch.setattr(defsum.onnx_backend, "int8_full_range", lambda: full_range)
    clf = EventClassifier.from_pretrained(spread_classifier_dir, backend="onnxruntime")
    assert [kw["reduce_range"] for kw in calls] == [not full_range]
    assert clf.predict_proba(ARTICLES).shape == (2, 3)
