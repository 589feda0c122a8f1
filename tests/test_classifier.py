from __future__ import annotations

import json
import shutil

import numpy as np
import torch
import pytest

from defsum import EventClassifier, ModelLoadError, Prediction
from defsum.chunking import make_windows
from defsum.labels import LABELS

LONG = " ".join(f"Sentence number {i} reports that the envoy met officials in the capital." for i in range(120))


def test_single_text_gives_one_prediction(tiny_classifier):
    pred = tiny_classifier.predict("Pyongyang fired two missiles into the sea on Monday.")
    assert isinstance(pred, Prediction)
    assert set(pred.scores) == set(LABELS)
    assert all(0.0 <= s <= 1.0 for s in pred.scores.values())
    assert set(pred.labels) <= set(LABELS)
    assert pred.primary in pred.labels or (pred.primary == "none" and not pred.labels)


def test_list_gives_list_in_order(tiny_classifier):
    texts = ["Short one.", LONG, "Another short article about talks in Geneva."]
    preds = tiny_classifier.predict(texts, batch_size=2)
    assert isinstance(preds, list) and len(preds) == 3
    # order restored after length sorting: each equals its own single prediction
    for text, pred in zip(texts, preds):
        assert pred.scores == tiny_classifier.predict(text).scores
    assert preds[1].chunked and not preds[0].chunked


def test_save_load_round_trip_identical(tiny_classifier, tmp_path):
    tiny_classifier.save_pretrained(tmp_path / "copy")
    assert (tmp_path / "copy" / "model.safetensors").is_file()
    again = EventClassifier.from_pretrained(tmp_path / "copy")
    texts = ["The minister flew to Beijing for talks.", LONG]
    np.testing.assert_allclose(tiny_classifier.predict_proba(texts), again.predict_proba(texts), rtol=1e-6)
    assert [p.labels for p in tiny_classifier.predict(texts)] == [p.labels for p in again.predict(texts)]


def test_windows_keep_title_and_overlap(tokenizer):
    w = make_windows(tokenizer, LONG, "Envoy visits", max_length=64, overlap=16, title_tokens=8, max_windows=64)
    title_ids = tokenizer("Envoy visits", add_special_tokens=False)["input_ids"]
    assert len(w.input_ids) > 3 and not w.capped
    for ids in w.input_ids:
        assert len(ids) <= 64
        assert ids[1 : 1 + len(title_ids)] == title_ids  # [CLS] title [SEP] body [SEP]
    body = tokenizer(LONG, add_special_tokens=False)["input_ids"]
    first_body = w.input_ids[0][2 + len(title_ids) : -1]
    second_body = w.input_ids[1][2 + len(title_ids) : -1]
    assert first_body == body[: len(first_body)]
    assert second_body[:16] == first_body[-16:]  # overlap
    covered = len(first_body) + (len(w.input_ids) - 1) * (len(first_body) - 16)
    assert covered >= len(body)  # nothing cut off


def test_window_cap_is_flagged(tokenizer):
    w = make_windows(tokenizer, LONG * 5, None, max_length=32, overlap=8, max_windows=4)
    assert len(w.input_ids) == 4 and w.capped


def test_thresholds_decide_labels(tiny_classifier_dir):
    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    clf.config["thresholds"] = {label: 0.0 for label in LABELS}
    pred = clf.predict("Anything at all.")
    assert pred.labels == list(LABELS)
    assert pred.primary == max(pred.scores, key=pred.scores.get)
    clf.config["thresholds"] = {label: 1.01 for label in LABELS}
    pred = clf.predict("Anything at all.")
    assert pred.labels == [] and pred.primary == "none"


def test_temperature_flattens_probabilities(tiny_classifier_dir):
    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    raw = clf.predict_proba(["Talks resumed."], calibrated=False)
    clf.config["temperature"] = 100.0
    flat = clf.predict_proba(["Talks resumed."])
    assert np.all(np.abs(flat - 0.5) <= np.abs(raw - 0.5) + 1e-9)


def test_empty_text_is_a_clear_error(tiny_classifier):
    with pytest.raises(ValueError, match="empty"):
        tiny_classifier.predict("   \n ")
    with pytest.raises(TypeError, match="expected str"):
        tiny_classifier.predict([None])  # type: ignore[list-item]


def test_label_mismatch_names_the_file(tiny_classifier_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_classifier_dir, bad)
    cfg = json.loads((bad / "defsum_config.json").read_text())
    cfg["labels"] = ["a", "b"]
    (bad / "defsum_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="defsum_config.json"):
        EventClassifier.from_pretrained(bad)


def test_pickle_weights_are_refused(tiny_classifier_dir, tmp_path):
    bad = tmp_path / "pickled"
    shutil.copytree(tiny_classifier_dir, bad)
    (bad / "model.safetensors").rename(bad / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        EventClassifier.from_pretrained(bad)


def test_missing_or_corrupt_folder(tiny_classifier_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        EventClassifier.from_pretrained(tmp_path / "nowhere")
    bad = tmp_path / "corrupt"
    shutil.copytree(tiny_classifier_dir, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="corrupt"):
        EventClassifier.from_pretrained(bad)


def test_missing_tokenizer_files_are_refused(tiny_classifier_dir, tmp_path):
    bad = tmp_path / "no_tokenizer"
    shutil.copytree(tiny_classifier_dir, bad)
    (bad / "tokenizer.json").unlink()  # transformers would build a near-empty tokenizer: every word [UNK]
    with pytest.raises(ModelLoadError, match="tokenizer has .* tokens but the model's vocabulary has"):
        EventClassifier.from_pretrained(bad)


def test_huge_title_is_not_tokenised_whole(tiny_classifier, caplog):
    title = "Missile " * 5000
    with caplog.at_level("WARNING"):
        windows = tiny_classifier.windows("North Korea fired two missiles on Monday.", title)
    assert not [r for r in caplog.records if "longer than the specified maximum" in r.getMessage()]
    assert windows.input_ids[0].count(tiny_classifier.tokenizer.convert_tokens_to_ids("missile")) == 8  # title_tokens


def test_primary_rule_first_window(tiny_classifier_dir):
    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    clf.config["thresholds"] = {label: 0.0 for label in LABELS}
    clf.config["primary_rule"] = "first_window"
    per_window, _, _, _ = clf._article_probs([LONG], [None], 8, False)
    pred = clf.predict(LONG)
    assert pred.primary == LABELS[int(np.argmax(per_window[0][0]))]
    clf.config["primary_rule"] = "nonsense"
    with pytest.raises(ModelLoadError, match="primary_rule"):
        EventClassifier._check_config(clf.config, clf.model, "here")


def test_first_window_aggregation_scores_only_first_windows(tiny_classifier_dir):
    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    texts = [LONG, "Kim met Xi in Beijing."]
    per_window, _, _, _ = clf._article_probs(texts, [None, None], 8, False, "max")
    seen = []
    score = clf._score_windows
    clf._score_windows = lambda windows, flat, *a, **k: (seen.append(list(flat)), score(windows, flat, *a, **k))[1]
    clf.config["aggregation"] = "first"
    pred = clf.predict(LONG)
    assert seen[-1] == [(0, 0)] and pred.n_windows == len(per_window[0]) > 1 and set(pred.evidence_window.values()) == {0}
    assert np.allclose(clf.predict_proba(texts), np.stack([p[0] for p in per_window]), atol=1e-5)
    assert np.allclose(clf.predict_proba(texts, aggregation="max"), np.stack([p.max(0) for p in per_window]), atol=1e-5)
    assert len(seen[-1]) == sum(len(p) for p in per_window)  # an explicit aggregation still reads every window


def test_primary_head_round_trip_and_rule(tiny_classifier_dir, tmp_path):
    from defsum.primary_head import PrimaryHead

    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    _, _, _, feats = clf._article_probs([LONG, "Kim met Xi in Beijing."], [None, None], 8, False, features=True)
    assert feats.shape == (2, clf.model.config.hidden_size)
    head = PrimaryHead.fit(np.vstack([feats, feats]), ["diplomacy", "provocation", "diplomacy", "provocation"], c=1.0)
    clf.primary_head = head
    clf.config["primary_rule"] = "head"
    clf.config["thresholds"] = {label: 0.0 for label in LABELS}  # every label passes: the head decides
    clf.save_pretrained(tmp_path)
    again = EventClassifier.from_pretrained(tmp_path)
    assert again.primary_head is not None and again.primary_head.classes == head.classes
    probs = again._head_probs(feats)
    preds = again.predict([LONG, "Kim met Xi in Beijing."])
    for pred, p in zip(preds, probs):
        assert pred.primary == again.labels[int(np.argmax(p))]


def test_head_rule_without_head_file_is_a_clear_error(tiny_classifier_dir, tmp_path):
    import shutil

    shutil.copytree(tiny_classifier_dir, tmp_path / "m")
    cfg_path = tmp_path / "m" / "defsum_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["primary_rule"] = "head"
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="primary_head.safetensors"):
        EventClassifier.from_pretrained(tmp_path / "m")


def test_int8_quantizes_linear_weights_per_channel(tiny_classifier_dir):
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="int8")
    quantized = [m for m in clf.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert quantized, "no dynamically quantized Linear layer"
    assert all(m.weight().qscheme() == torch.per_channel_affine for m in quantized)
    fp32 = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    text = ["Pyongyang fired two missiles into the sea on Monday."]
    np.testing.assert_allclose(clf.predict_proba(text), fp32.predict_proba(text), atol=0.05)


def test_model_card_keeps_notes_and_limits_from_the_report():
    from defsum.model_card import classifier_card

    report = {"base": "b", "train_files": [], "weak_files": [], "n_train": 1, "n_validation": 1,
              "calibration": {"aggregation": "max", "temperature": 1.0, "thresholds": {},
                              "ece_validation_before": 0.1, "ece_validation_after": 0.05},
              "notes": ["A retrain with hard negatives was not shipped."], "limits": ["Asylum stories fool it."]}
    card = classifier_card(report, extra="### All evaluations")
    assert "## Notes\n\n- A retrain with hard negatives was not shipped." in card
    limits = card.split("## Limits", 1)[1]
    assert "- Asylum stories fool it." in limits and "All evaluations" not in limits


def test_bf16_scores_with_bf16_weights_and_saves_the_float_weights(tiny_classifier_dir, tmp_path):
    from safetensors import safe_open

    bf16 = EventClassifier.from_pretrained(tiny_classifier_dir, precision="bf16")
    fp32 = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    assert {p.dtype for p in bf16.model.parameters()} == {torch.bfloat16}
    np.testing.assert_allclose(bf16.predict_proba([LONG, "Talks in Geneva."]), fp32.predict_proba([LONG, "Talks in Geneva."]), atol=0.03)
    bf16.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as saved:
        for name in saved.keys():
            assert saved.get_tensor(name).dtype == torch.float32, name
    np.testing.assert_allclose(EventClassifier.from_pretrained(tmp_path, precision="fp32").predict_proba([LONG]),
                               fp32.predict_proba([LONG]), atol=1e-6)


def test_padding_widths_to_a_multiple_does_not_change_scores(tiny_classifier_dir, monkeypatch):
    import defsum.classifier

    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    texts = ["Short one.", LONG, "Another short article about talks in Geneva.", "Seoul said a diplomat had defected."]
    monkeypatch.setattr(defsum.classifier, "PAD_MULTIPLE", 1)
    tight = clf.predict_proba(texts, batch_size=2)
    monkeypatch.setattr(defsum.classifier, "PAD_MULTIPLE", 32)
    np.testing.assert_allclose(clf.predict_proba(texts, batch_size=2), tight, atol=1e-5)


def test_cpu_workers_score_the_same_and_restore_torch_threads(tiny_classifier_dir, monkeypatch):
    import defsum.classifier

    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    texts = [LONG, "Short one.", "Talks in Geneva went on.", LONG[:900], "Seoul said a diplomat had defected."] * 3
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(defsum.classifier, "CPU_WORKERS", 1)
        one = clf.predict(texts, batch_size=2)
        one_features = clf._article_probs(texts, [None] * len(texts), 2, False, features=True)[3]
        monkeypatch.setattr(defsum.classifier, "CPU_WORKERS", 2)
        two = clf.predict(texts, batch_size=2, show_progress_bar=True)
        two_features = clf._article_probs(texts, [None] * len(texts), 2, False, features=True)[3]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert [p.scores for p in two] == [p.scores for p in one]
    assert [(p.labels, p.primary, p.evidence_window) for p in two] == [(p.labels, p.primary, p.evidence_window) for p in one]
    # the primary head's inputs, each in its row; the last layer's one-token matrix products may
    # split their sums by thread count, so the last bits can differ (defsum.first_token)
    np.testing.assert_allclose(two_features, one_features, rtol=1e-6, atol=1e-7)


def test_padding_never_passes_the_models_positions(tokenizer):
    from transformers import BertConfig, BertForSequenceClassification

    from defsum.classifier import DEFAULTS

    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=100, num_labels=len(LABELS))
    clf = EventClassifier(BertForSequenceClassification(config).eval(), tokenizer, dict(DEFAULTS, max_length=256, overlap=16, title_tokens=8))
    text = " ".join(["envoy"] * 95)  # one window of 97 tokens: rounded up to 128 it would pass 100 positions
    assert len(clf.windows(text).input_ids[0]) == 97
    assert clf.predict_proba(text).shape == (1, len(LABELS))


def test_a_failing_worker_stops_the_other(tiny_classifier_dir, monkeypatch):
    import defsum.classifier

    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    calls, real = [], clf.model.forward

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(clf.model, "forward", failing)
    monkeypatch.setattr(defsum.classifier, "CPU_WORKERS", 2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            clf.predict(["Talks in Geneva went on."] * 40, batch_size=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert len(calls) < 20  # the other worker did not score its 20 batches


def test_cpu_workers_share_every_thread(tiny_classifier_dir, monkeypatch):
    """With an odd thread count no core is left idle: 3 threads split 2 + 1, and torch's count is restored."""
    import threading

    import defsum.classifier

    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    monkeypatch.setattr(defsum.classifier, "CPU_WORKERS", 2)
    seen, real = [], torch.set_num_threads

    def record(n: int) -> None:  # a pool thread may run both shares one after the other: keep every call
        seen.append((threading.get_ident() == threading.main_thread().ident, n))
        real(n)

    before = torch.get_num_threads()
    real(3)
    monkeypatch.setattr(torch, "set_num_threads", record)
    try:
        clf.predict(["Talks in Geneva went on."] * 6, batch_size=1)
    finally:
        real(before)
    assert [n for on_main, n in seen if on_main] == [3] and sorted(n for on_main, n in seen if not on_main) == [1, 2]


def test_saving_a_bf16_model_whose_folder_is_gone_says_how_to_save_it(tiny_classifier_dir, tmp_path):
    """bf16 weights are converted in place (no float copy kept): saving reads the float ones again."""
    import shutil

    from defsum.modelio import ModelLoadError

    folder = tmp_path / "clf"
    shutil.copytree(tiny_classifier_dir, folder)
    bf16 = EventClassifier.from_pretrained(folder, precision="bf16")
    shutil.rmtree(folder)
    with pytest.raises(ModelLoadError, match=r"read again from .*clf.*precision='fp32'"):
        bf16.save_pretrained(tmp_path / "copy")
    int8 = EventClassifier.from_pretrained(tiny_classifier_dir, precision="int8")
    int8.save_pretrained(tmp_path / "int8")  # the float weights, read from the source folder
    np.testing.assert_allclose(EventClassifier.from_pretrained(tmp_path / "int8", precision="fp32").predict_proba([LONG]),
                               EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32").predict_proba([LONG]), atol=1e-6)


def _save_classifier(model, tokenizer, folder, **config) -> None:
    from defsum.classifier import DEFAULTS

    EventClassifier(model.eval(), tokenizer, dict(DEFAULTS, **config)).save_pretrained(folder)


def _small(**extra):
    return dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_labels=len(LABELS),
                id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)}, **extra)


def test_windows_are_cut_to_the_positions_the_model_has(tokenizer, tmp_path, caplog):
    from transformers import BertConfig, BertForSequenceClassification, RobertaConfig, RobertaForSequenceClassification

    from defsum.modelio import position_limit

    torch.manual_seed(0)
    bert = tmp_path / "bert48"
    _save_classifier(BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, **_small(max_position_embeddings=48))),
                     tokenizer, bert, max_length=128, overlap=64, title_tokens=8)
    clf = EventClassifier.from_pretrained(bert, precision="fp32")
    assert clf.config["max_length"] == 48 and clf.config["overlap"] < 48 - 3 - 8
    assert "more than the model's 48 positions" in caplog.text
    pred = clf.predict("Talks resumed in Geneva on Monday after a year. " * 30, titles="Talks")  # used to fail: tensor sizes
    assert pred.n_windows > 1
    roberta = RobertaForSequenceClassification(RobertaConfig(vocab_size=tokenizer.vocab_size, pad_token_id=1, **_small(max_position_embeddings=66)))
    assert position_limit(roberta) == 64  # positions start after the padding index
    assert position_limit(object()) is None


def test_only_learnt_absolute_positions_limit_the_windows(tokenizer, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification, DebertaV2Config, DebertaV2ForSequenceClassification

    from defsum.modelio import position_limit

    relative = DebertaV2ForSequenceClassification(DebertaV2Config(vocab_size=tokenizer.vocab_size, position_biased_input=False,
                                                                  relative_attention=True, **_small()))
    assert position_limit(relative) is None
    folder = tmp_path / "short_tokenizer_limit"  # a tokenizer that says 128 on a 512-position model is no limit
    _save_classifier(BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, **_small())), tokenizer, folder,
                     max_length=256, overlap=64)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps(dict(config, model_max_length=128)))
    clf = EventClassifier.from_pretrained(folder)
    assert (clf.config["max_length"], clf.config["overlap"]) == (256, 64)


def test_a_model_without_a_trained_head_is_refused(tokenizer, tmp_path):
    from transformers import BartConfig, BartForSequenceClassification, BertConfig, BertModel

    base = tmp_path / "base"
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, **_small())).save_pretrained(base)
    tokenizer.save_pretrained(base)
    with pytest.raises(ModelLoadError, match=r"would be random: \['classifier.bias', 'classifier.weight'\]; .*train_classifier.py --base"):
        EventClassifier.from_pretrained(base)
    bart = tmp_path / "bart"
    config = BartConfig(vocab_size=tokenizer.vocab_size, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_labels=len(LABELS))
    _save_classifier(BartForSequenceClassification(config), tokenizer, bart)
    with pytest.raises(ModelLoadError, match="a bart encoder-decoder classifier"):
        EventClassifier.from_pretrained(bart)


def test_windows_are_padded_with_the_model_pad_id(tokenizer):
    """A GPT-2-style classifier reads its last non-padding token, found by the model's pad id."""
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from defsum.classifier import pad_id

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_embd=32, n_layer=1, n_head=2, n_positions=128, pad_token_id=7,
                        num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    gpt = GPT2ForSequenceClassification(config).eval()
    assert pad_id(gpt.config, tokenizer) == 7 and pad_id(None, tokenizer) == tokenizer.pad_token_id
    from defsum.classifier import DEFAULTS

    clf = EventClassifier(gpt, tokenizer, dict(DEFAULTS, max_length=64, overlap=16, title_tokens=8, temperature=1.0), "fp32")
    texts = ["Talks resumed.", "Talks resumed in Geneva on Monday after a long year of silence between them."]
    got = clf.predict_proba(texts, batch_size=2)
    for text, row in zip(texts, got):
        w = clf.windows(text)  # the window alone, no padding (with the token types this tokenizer gives)
        with torch.no_grad():
            want = torch.sigmoid(gpt(input_ids=torch.tensor([w.input_ids[0]]), token_type_ids=torch.tensor([w.token_type_ids[0]])).logits)[0].numpy()
        # padded with 0 ([PAD] of the tokenizer) the model read a padding position as the last token
        np.testing.assert_allclose(row, want, atol=1e-5)


def test_calls_from_other_threads_leave_torchs_thread_count_alone(tiny_classifier_dir, monkeypatch):
    """torch's thread count is process-wide, and a thread that first used torch while a call had lowered
    it kept the lowered count: only main-thread calls, one at a time, use the workers."""
    import threading

    import defsum.classifier

    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    monkeypatch.setattr(defsum.classifier, "CPU_WORKERS", 2)
    changes, real = [], torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (changes.append(n), real(n)))
    before = torch.get_num_threads()
    real(2)
    try:
        want = clf.predict_proba(["Talks in Geneva went on.", LONG] * 3, batch_size=1)
        assert changes  # from the main thread the workers run
        changes.clear()
        got = []
        worker = threading.Thread(target=lambda: got.append(clf.predict_proba(["Talks in Geneva went on.", LONG] * 3, batch_size=1)))
        worker.start()
        worker.join()
        assert changes == [] and torch.get_num_threads() == 2
        with defsum.classifier._WORKERS_LOCK:  # another call holds the workers: this one scores with one
            again = clf.predict_proba(["Talks in Geneva went on.", LONG] * 3, batch_size=1)
        assert changes == []
    finally:
        real(before)
    np.testing.assert_allclose(got[0], want, atol=1e-6)
    np.testing.assert_allclose(again, want, atol=1e-6)


def test_an_article_longer_than_the_windows_read_is_said(tiny_classifier, caplog):
    """Only Prediction.capped said that an article's end was not scored; now a warning says so too."""
    huge = "Talks in Geneva went on for a long time. " * 4000
    with caplog.at_level("WARNING", logger="defsum.classifier"):
        preds = tiny_classifier.predict(["Short one.", huge])
    assert [p.capped for p in preds] == [False, True]
    assert "1 of 2 articles (the first: text[1])" in caplog.text and "not scored" in caplog.text


def test_text_that_is_not_valid_unicode_is_refused_by_name(tiny_classifier):
    bad = "Seoul said caf\udce9 owners"  # what errors="surrogateescape" leaves for an undecodable byte
    with pytest.raises(ValueError, match=r"text\[1\] holds .* lone surrogate"):
        tiny_classifier.predict(["Fine.", bad])
    with pytest.raises(ValueError, match=r"titles\[0\]"):
        tiny_classifier.predict(["Fine."], titles=[bad])
    with pytest.raises(TypeError, match="title must be a str or None"):
        tiny_classifier.windows("Fine.", 5)


def test_shown_scores_agree_with_the_labels(tiny_classifier):
    """A probability just under a threshold was shown rounded up to it, without the label."""
    from defsum.classifier import shown_score

    assert shown_score(0.69996, 0.7) == 0.6999 and shown_score(0.70001, 0.7) == 0.7
    for p in tiny_classifier.predict([LONG, "Short one.", "Talks in Geneva went on."]):
        for label, score in p.scores.items():
            assert (label in p.labels) == (score >= tiny_classifier.thresholds[tiny_classifier.labels.index(label)])


def test_text_of_invisible_characters_is_refused(tiny_classifier):
    with pytest.raises(ValueError, match=r"text\[1\] is empty .*invisible"):
        tiny_classifier.predict(["Talks resumed.", "\u200b\u200d"])


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_int8_scores_do_not_depend_on_the_batch(tiny_classifier_dir, backend):
    """Dynamic int8 scales each pass's input as a whole: scored one window per pass, an article
    gets the same scores alone as among others, whatever batch size is asked for."""
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="int8", backend=backend)
    texts = [LONG, "Short one.", "Talks in Geneva went on for a second day.", LONG[:900]]
    together = clf.predict_proba(texts, batch_size=16)
    alone = np.vstack([clf.predict_proba([t], batch_size=16) for t in texts])
    np.testing.assert_array_equal(together, alone)
