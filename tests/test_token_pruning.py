"""Token pruning from one encoder layer on: the right tokens kept, per window, undone on request."""

from __future__ import annotations

import json
import math

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
from defsum.modelio import ModelLoadError
from defsum.token_pruning import MIN_TOKENS, check_setting, prune_tokens, run_all_tokens


def _model(family: str = "bert", attention: str = "sdpa", layers: int = 3):
    torch.manual_seed(0)
    small = dict(hidden_size=32, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=64, num_labels=len(LABELS))
    if family == "bert":
        model = BertForSequenceClassification(BertConfig(vocab_size=200, **small))
    else:
        model = RobertaForSequenceClassification(RobertaConfig(vocab_size=200, pad_token_id=1, max_position_embeddings=80, **small))
    model.config._attn_implementation = attention
    return model.eval()


def test_nothing_dropped_gives_the_same_logits():
    model = _model()
    inputs = padded_batch(200, 3, 40, 7)
    with torch.inference_mode():
        before = model(**inputs).logits
    assert prune_tokens(model, 1, 1.0)
    with torch.inference_mode():
        after = model(**inputs).logits
    torch.testing.assert_close(after, before, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_a_window_scores_the_same_alone_as_in_a_padded_batch(family, attention):
    model = _model(family, attention)
    inputs = padded_batch(200, 3, 40, 7)
    with torch.inference_mode():
        plain = model(**inputs, output_hidden_states=True).hidden_states[-1][:, 0]
    assert prune_tokens(model, 1, 0.5)
    with torch.inference_mode():
        out = model(**inputs, output_hidden_states=True)
        batched, vectors = out.logits, out.hidden_states[-1][:, 0]
        for row in range(3):
            n = int(inputs["attention_mask"][row].sum())
            alone = model(**{k: v[row : row + 1, :n] for k, v in inputs.items()}).logits
            torch.testing.assert_close(alone[0], batched[row], atol=1e-5, rtol=1e-5)
    assert (vectors - plain).abs().max() > 1e-3  # tokens were dropped: the first token's vector moved


def test_pruned_width_and_untouched_earlier_layers():
    model = _model(attention="eager")
    inputs = padded_batch(200, 2, 40, 7)
    with torch.inference_mode():
        seen = model(**inputs, output_attentions=True, output_hidden_states=True)
    assert prune_tokens(model, 2, 0.5)
    with torch.inference_mode():
        pruned = model(**inputs, output_hidden_states=True)
    n = inputs["attention_mask"].sum(-1)
    width = pruned.hidden_states[3].shape[1]  # the output of layer 2, the first one pruned
    assert width == max(math.ceil(int(n.max()) * 0.5), MIN_TOKENS) < inputs["input_ids"].shape[1]
    # layers before the pruned one are untouched
    torch.testing.assert_close(pruned.hidden_states[2], seen.hidden_states[2])


def test_kept_positions_match_the_attention_ranking():
    """Re-running layer 2 by hand on the tokens the attention ranking picks gives the pruned output."""
    model = _model(attention="eager")
    inputs = padded_batch(200, 1, 40, 7)
    with torch.inference_mode():
        seen = model(**inputs, output_attentions=True, output_hidden_states=True)
        attention = seen.attentions[2][0, :, 0, :].mean(0)
        attention[0] = float("inf")
        keep = sorted(attention.topk(20).indices.tolist())
        by_hand = model.bert.encoder.layer[2](seen.hidden_states[2][:, keep], None)
    assert prune_tokens(model, 2, 0.5)
    with torch.inference_mode():
        pruned = model(**inputs, output_hidden_states=True)
    torch.testing.assert_close(pruned.hidden_states[3], by_hand, atol=1e-5, rtol=1e-5)


def test_with_the_first_token_layer_and_int8():
    from defsum.precision import _x86_int8, prepare_for_inference

    model = _model()
    inputs = padded_batch(200, 3, 40, 7)
    assert run_first_token_only(model)
    assert prune_tokens(model, 1, 0.5)
    with torch.inference_mode():
        out = model(**inputs, output_hidden_states=True)
    assert out.hidden_states[-1].shape[1] == 1  # the last layer still runs for the first token only
    if _x86_int8():  # torch's x86 int8 kernels
        prepare_for_inference(model, "int8")
        with torch.inference_mode():
            assert model(**inputs).logits.shape == (3, len(LABELS))


def test_undo_and_training_mode():
    model = _model()
    inputs = padded_batch(200, 3, 40, 7)
    with torch.inference_mode():
        before = model(**inputs).logits
    assert prune_tokens(model, 1, 0.3)
    run_all_tokens(model)
    assert "forward" not in model.base_model.encoder.__dict__
    with torch.inference_mode():
        torch.testing.assert_close(model(**inputs).logits, before)
    assert prune_tokens(model, 1, 0.3)
    model.train()  # dropout: the class's own loop, every token
    out = model(**inputs, output_hidden_states=True)
    assert all(h.shape[1] == inputs["input_ids"].shape[1] for h in out.hidden_states)
    assert not prune_tokens(model, 1, 0.3)  # never patched in training mode


def test_short_windows_keep_at_least_min_tokens():
    model = _model()
    ids = torch.randint(5, 200, (1, MIN_TOKENS + 4), generator=torch.Generator().manual_seed(3))
    assert prune_tokens(model, 1, 0.3)
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
    assert [h.shape[1] for h in out.hidden_states] == [MIN_TOKENS + 4, MIN_TOKENS + 4, MIN_TOKENS, MIN_TOKENS]


def test_a_failing_probe_leaves_the_model_as_it_was():
    from defsum.first_token import keep_if_same_logits

    model = _model()
    undone = []

    def broken():
        raise RuntimeError("no inputs for this model")

    assert not keep_if_same_logits(model, broken, lambda: None, lambda: undone.append(True), "test patch")
    assert undone == [True]


def test_other_layouts_are_left_alone():
    model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=200, dim=32, n_layers=2, n_heads=2,
                                                                 hidden_dim=64, num_labels=3)).eval()
    assert not prune_tokens(model, 1, 0.5)


@pytest.mark.parametrize("bad, message", [
    ({"layer": 0, "keep": 0.5}, "layer must be an integer from 1 to 2"),
    ({"layer": 3, "keep": 0.5}, "layer must be an integer from 1 to 2"),
    ({"layer": 1, "keep": 0}, "keep must be a share"),
    ({"layer": 1, "keep": 1.5}, "keep must be a share"),
    ({"layer": 1}, "must be null or"),
    ({"layer": 1, "keep": 0.5, "precisions": ["fp16"]}, "precisions must be"),
    ({"layer": 1, "keep": 0.5, "precisions": []}, "precisions must be"),
    ("3:0.5", "must be null or"),
])
def test_bad_settings_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        check_setting(bad, 3)


def _folder_with(tmp_path, tiny_classifier_dir, setting):
    import shutil

    folder = tmp_path / "clf"
    shutil.copytree(tiny_classifier_dir, folder)
    path = folder / "defsum_config.json"
    config = json.loads(path.read_text())
    config["token_pruning"] = setting
    path.write_text(json.dumps(config))
    return folder


def test_from_pretrained_applies_the_folders_setting(tmp_path, tiny_classifier_dir):
    folder = _folder_with(tmp_path, tiny_classifier_dir, {"layer": 1, "keep": 0.5})
    text = " ".join(f"word{i} on the border talks" for i in range(40))
    plain = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    pruned = EventClassifier.from_pretrained(folder, precision="fp32")
    off = EventClassifier.from_pretrained(folder, precision="fp32", token_pruning=False)
    assert plain.token_pruning is None and off.token_pruning is None
    assert pruned.token_pruning == {"layer": 1, "keep": 0.5}
    p, q, r = (c._article_probs([text], [None], 8, False, calibrated=False)[1][0] for c in (plain, pruned, off))
    assert (p == r).all() and (p != q).any()  # unrounded: the tiny model's scores sit near 0.5
    encoder = pruned.model.base_model.encoder
    assert encoder._defsum_pruning == (1, 0.5) and "forward" not in off.model.base_model.encoder.__dict__
    pruned.save_pretrained(tmp_path / "saved")  # the setting travels with the folder
    assert json.loads((tmp_path / "saved" / "defsum_config.json").read_text())["token_pruning"] == {"layer": 1, "keep": 0.5}


def test_the_setting_applies_only_in_its_precisions(tmp_path, tiny_classifier_dir):
    from defsum.precision import _x86_int8

    folder = _folder_with(tmp_path, tiny_classifier_dir, {"layer": 1, "keep": 0.5, "precisions": ["bf16"]})
    bf16 = EventClassifier.from_pretrained(folder, precision="bf16")
    assert bf16.token_pruning == {"layer": 1, "keep": 0.5, "precisions": ["bf16"]}
    assert bf16.model.base_model.encoder._defsum_pruning == (1, 0.5)  # kept through the bf16 conversion
    assert EventClassifier.from_pretrained(folder, precision="fp32").token_pruning is None
    if _x86_int8():
        assert EventClassifier.from_pretrained(folder, precision="int8").token_pruning is None
        folder = _folder_with(tmp_path / "int8", tiny_classifier_dir, {"layer": 1, "keep": 0.5, "precisions": ["int8"]})
        int8 = EventClassifier.from_pretrained(folder, precision="int8")
        assert int8.model.base_model.encoder._defsum_pruning == (1, 0.5)  # kept through quantisation
        text = " ".join(f"word{i} on the border talks" for i in range(40))
        assert int8.predict(text).labels is not None


def test_no_layer_count_in_the_config_is_not_an_error():
    check_setting({"layer": 7, "keep": 0.5}, None)
    with pytest.raises(ValueError, match="layer must be an integer from 1, got 0"):
        check_setting({"layer": 0, "keep": 0.5}, None)


def test_a_bad_setting_in_the_folder_names_the_file(tmp_path, tiny_classifier_dir):
    folder = _folder_with(tmp_path, tiny_classifier_dir, {"layer": 5, "keep": 0.5})
    with pytest.raises(ModelLoadError, match="defsum_config.json: token_pruning: layer must be"):
        EventClassifier.from_pretrained(folder)


def test_choose_takes_the_fastest_passing_setting():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
    from token_pruning import choose

    ref = {"a": {"macro_f1": 0.90, "primary_accuracy": 0.90}, "b": {"macro_f1": 0.80, "primary_accuracy": 0.95}}
    sizes = {"a": 100, "b": 20}

    def row(layer, keep, speedup, fa, pa, fb, pb):
        return {"layer": layer, "keep": keep, "speedup": speedup, "a": {"macro_f1": fa, "primary_accuracy": pa},
                "b": {"macro_f1": fb, "primary_accuracy": pb}}

    table = [
        row(2, 0.3, 1.6, 0.90, 0.90, 0.70, 0.95),  # loses 10 points on b
        row(2, 0.5, 1.4, 0.896, 0.89, 0.80, 0.90),  # within 0.5 points and one article on each
        row(3, 0.5, 1.39, 0.90, 0.90, 0.80, 0.95),  # as fast within 2%, later layer
        row(3, 0.4, 1.5, 0.90, 0.88, 0.80, 0.95),  # two articles of primary lost on a
    ]
    assert choose(table, ref, sizes, 0.005, 1.05) == {"layer": 3, "keep": 0.5}
    assert [r["passes"] for r in table] == [False, True, True, False]
    assert choose(table, ref, sizes, 0.005, 1.45) is None  # not worth it


def test_the_sweep_writes_its_choice_into_the_folder(tmp_path, tiny_classifier_dir):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
    from token_pruning import main

    folder = _folder_with(tmp_path, tiny_classifier_dir, None)
    validation = tmp_path / "val.jsonl"
    rows = [json.loads(line) for line in Path("data/corpus/validation.jsonl").read_text().splitlines()[:12]]
    validation.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = main(["--model", str(folder), "--validation", str(validation), "--real-validation", "", "--layers", "1",
                "--keeps", "0.5", "--rounds", "1", "--max-f1-drop", "1", "--min-speedup", "0", "--out", str(tmp_path / "r.json"), "--write"])
    assert len(res["table"]) == 1 and res["table"][0]["layer"] == 1 and "corpus-validation" in res["table"][0]
    written = json.loads((folder / "defsum_config.json").read_text())["token_pruning"]
    assert res["chosen"] == json.loads((tmp_path / "r.json").read_text())["chosen"]
    assert written == (None if res["chosen"] is None else {**res["chosen"], "precisions": [res["precision"]]})
    if written is not None:
        assert EventClassifier.from_pretrained(folder).token_pruning == written
