"""The last encoder layer run for the first token only: same logits, or the model left as it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from _batches import padded_batch

from defsum.classifier import EventClassifier
from defsum.first_token import run_first_token_only
from defsum.labels import LABELS


def _small(**extra):
    return dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                num_labels=len(LABELS), **extra)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_same_logits_with_the_first_token_only(family, attention):
    torch.manual_seed(0)
    if family == "bert":
        model = BertForSequenceClassification(BertConfig(vocab_size=200, **_small()), )
    else:
        model = RobertaForSequenceClassification(RobertaConfig(vocab_size=200, pad_token_id=1, **_small(max_position_embeddings=40)))
    model.config._attn_implementation = attention
    model.eval()
    inputs = padded_batch(200)
    with torch.inference_mode():
        before = model(**inputs, output_hidden_states=True)
    assert run_first_token_only(model)
    assert "forward" in model.base_model.encoder.layer[-1].__dict__
    with torch.inference_mode():
        after = model(**inputs, output_hidden_states=True)
    torch.testing.assert_close(after.logits, before.logits, atol=1e-5, rtol=1e-5)
    # the last layer's output holds the first position, the one the features read
    assert after.hidden_states[-1].shape[1] == 1
    torch.testing.assert_close(after.hidden_states[-1][:, 0], before.hidden_states[-1][:, 0], atol=1e-5, rtol=1e-5)
    # bf16 weights: the patched path runs and stays close to fp32
    model.to(torch.bfloat16)
    with torch.inference_mode():
        half = model(**inputs).logits.float()
    torch.testing.assert_close(half, before.logits, atol=0.05, rtol=0.05)


def test_weights_and_their_names_are_untouched():
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=200, **_small())).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert run_first_token_only(model)
    after = model.state_dict()
    assert list(after) == list(state)
    assert all(torch.equal(after[k], state[k]) for k in state)


def test_other_layouts_are_left_alone():
    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=200, dim=32, n_layers=1, n_heads=2,
                                                                 hidden_dim=64, num_labels=3)).eval()
    assert not run_first_token_only(model)


class _MeanPooled(BertForSequenceClassification):
    """A BERT layout whose head reads the mean of all positions: the first token alone would change its logits."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        logits = self.classifier(out.last_hidden_state.mean(dim=1))
        return type("Out", (), {"logits": logits})()


def test_a_model_whose_logits_change_is_restored():
    torch.manual_seed(0)
    model = _MeanPooled(BertConfig(vocab_size=200, **_small())).eval()
    inputs = padded_batch(200)
    with torch.inference_mode():
        before = model(**inputs).logits
    assert not run_first_token_only(model)
    assert "forward" not in model.bert.encoder.layer[-1].__dict__
    with torch.inference_mode():
        torch.testing.assert_close(model(**inputs).logits, before)


def test_a_model_in_training_mode_is_left_alone():
    model = BertForSequenceClassification(BertConfig(vocab_size=200, **_small()))
    assert model.training and not run_first_token_only(model)


def test_a_patched_model_put_in_training_mode_runs_every_position():
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=200, hidden_dropout_prob=0.0,
                                                     attention_probs_dropout_prob=0.0, **_small())).eval()
    assert run_first_token_only(model)
    model.train()
    out = model(**padded_batch(200), output_hidden_states=True)
    assert out.hidden_states[-1].shape[1] == 20
    out.logits.sum().backward()  # gradients reach every layer as before
    assert model.bert.encoder.layer[-1].intermediate.dense.weight.grad is not None


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_classifier_scores_match_the_full_last_layer(tiny_classifier_dir, tokenizer, precision):
    """EventClassifier.from_pretrained uses the first-token layer; its probabilities, window
    features included, are those of the plain model at the same precision."""
    from transformers import AutoModelForSequenceClassification

    from defsum.precision import prepare_for_inference

    fast = EventClassifier.from_pretrained(tiny_classifier_dir, precision=precision)
    assert "forward" in fast.model.base_model.encoder.layer[-1].__dict__
    plain_model = AutoModelForSequenceClassification.from_pretrained(tiny_classifier_dir).eval()
    plain = EventClassifier(prepare_for_inference(plain_model, precision), tokenizer, fast.config, precision, fast.primary_head)
    assert "forward" not in plain.model.base_model.encoder.layer[-1].__dict__
    texts = ["Troops crossed the border at dawn. " * 30, "Envoys met in Geneva to talk.", "A general defected."]
    a, b = fast.predict_proba(texts), plain.predict_proba(texts)
    tol = 1e-5 if precision == "fp32" else 0.03
    np.testing.assert_allclose(a, b, atol=tol)



def test_onnx_export_of_the_first_token_layer_scores_as_the_plain_model(tiny_classifier_dir, tokenizer):
    """The ONNX backend exports the patched model: its fp32 scores are those of the unpatched torch model."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from transformers import AutoModelForSequenceClassification

    onnx_clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32", backend="onnxruntime")
    assert "forward" in onnx_clf._float_weights().base_model.encoder.layer[-1].__dict__  # the model it exported
    plain = EventClassifier(AutoModelForSequenceClassification.from_pretrained(tiny_classifier_dir).eval(), tokenizer,
                            onnx_clf.config, "fp32", onnx_clf.primary_head)
    texts = ["Troops crossed the border at dawn. " * 30, "Envoys met in Geneva to talk."]
    np.testing.assert_allclose(onnx_clf.predict_proba(texts), plain.predict_proba(texts), atol=1e-5)


def test_a_padding_mask_of_two_dimensions_masks_the_same():
    """Flash-attention implementations hand the layer the (batch, keys) padding mask itself."""
    from defsum.first_token import _first_query_mask

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=200, **_small())).eval()
    assert run_first_token_only(model)
    layer = model.bert.encoder.layer[-1]
    hidden = torch.randn(2, 9, 32)
    pad = torch.ones(2, 9, dtype=torch.long)
    pad[1, 5:] = 0
    four_d = pad[:, None, None, :].bool().expand(2, 1, 9, 9)
    assert _first_query_mask(four_d).shape == (2, 1, 1, 9)
    assert torch.equal(_first_query_mask(pad), pad[:, None, None, :].bool())
    with torch.inference_mode():
        torch.testing.assert_close(layer(hidden, pad), layer(hidden, four_d))
        # the padded row's output does not depend on what its padding holds
        changed = hidden.clone()
        changed[1, 5:] = 7.0
        torch.testing.assert_close(layer(changed, pad)[1], layer(hidden, pad)[1])


def test_a_patched_model_pickles():
    import pickle

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=200, **_small())).eval()
    assert run_first_token_only(model)
    copy = pickle.loads(pickle.dumps(model))
    inputs = padded_batch(200)
    with torch.inference_mode():
        torch.testing.assert_close(copy(**inputs).logits, model(**inputs).logits)
        assert copy(**inputs, output_hidden_states=True).hidden_states[-1].shape[1] == 1  # still patched



def test_run_every_position_undoes_the_patch():
    from defsum.first_token import run_every_position

    model = BertForSequenceClassification(BertConfig(vocab_size=200, **_small())).eval()
    inputs = padded_batch(200)
    assert run_first_token_only(model)
    with torch.inference_mode():
        first_only = model(**inputs, output_hidden_states=True)
    run_every_position(model)
    assert "forward" not in model.base_model.encoder.layer[-1].__dict__
    with torch.inference_mode():
        whole = model(**inputs, output_hidden_states=True)
    assert whole.hidden_states[-1].shape[1] == inputs["input_ids"].shape[1]  # every position again
    torch.testing.assert_close(whole.logits, first_only.logits, atol=1e-5, rtol=1e-5)
    run_every_position(torch.nn.Linear(2, 2))  # not a BERT layout: nothing to undo, no error
