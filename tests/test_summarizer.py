"""Summarizer and the copy-augmented model, with a tiny randomly initialised model (no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from defsum import briefs
from defsum.copygen import CopyGenForConditionalGeneration
from defsum.summarizer import Summarizer, build_source

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (
    "North Korea fired two short-range ballistic missiles into the sea off its east coast on "
    "Tuesday, South Korea's Joint Chiefs of Staff said. The launch came days after Seoul and "
    "Washington held joint military drills near the border. Japan's defence ministry said the "
    "missiles landed outside its exclusive economic zone."
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread (and do not fight a busy machine's other jobs)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_summarizer_dir(tiny_summarizer_path: Path) -> Path:
    """The shared tiny summariser folder from conftest.py (the model of ``make_tiny_copygen``)."""
    return tiny_summarizer_path


@pytest.fixture(scope="module")
def summ(tiny_summarizer_dir: Path) -> Summarizer:
    return Summarizer.from_pretrained(tiny_summarizer_dir)


def test_model_registered_with_auto_classes(tiny_summarizer_dir: Path):
    config = AutoConfig.from_pretrained(tiny_summarizer_dir)
    assert config.model_type == "defsum-copygen"
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_summarizer_dir, use_safetensors=True, trust_remote_code=False)
    assert isinstance(model, CopyGenForConditionalGeneration)
    assert (tiny_summarizer_dir / "model.safetensors").is_file()
    assert not list(tiny_summarizer_dir.glob("*.bin"))


def test_copy_loss_and_full_distribution_agree(tokenizer, make_tiny_copygen):
    model = make_tiny_copygen()
    src = tokenizer(["North Korea fired a missile."], return_tensors="pt")
    labels = tokenizer(["North Korea fired."], return_tensors="pt")["input_ids"][:, 1:]
    out = model(input_ids=src["input_ids"], attention_mask=src["attention_mask"], labels=labels)
    full = model(input_ids=src["input_ids"], attention_mask=src["attention_mask"], decoder_input_ids=model.shift_right(labels))
    assert torch.allclose(full.logits.exp().sum(-1), torch.ones(1, labels.shape[1]), atol=1e-4)
    nll = -full.logits.gather(-1, labels[..., None]).mean()
    assert torch.allclose(out.loss, nll, atol=1e-4)
    out.loss.backward()
    assert model.p_gen.weight.grad is not None


def test_incremental_decoding_matches_full_pass(tokenizer, make_tiny_copygen):
    model = make_tiny_copygen()
    src = tokenizer(["Seoul said Pyongyang fired."], return_tensors="pt")
    ids = torch.tensor([[101, 2000, 2001, 2002]])
    with torch.no_grad():
        memory = model.encode(src["input_ids"])[0]
        full, _, _ = model.decode_step(ids, memory, src["input_ids"], src["attention_mask"])
        cache, steps = None, []
        for i in range(ids.shape[1]):
            lp, _, cache = model.decode_step(ids[:, i : i + 1], memory, src["input_ids"], src["attention_mask"], cache)
            steps.append(lp)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-4)


def test_generate_shapes_and_ngram_blocking(tokenizer, make_tiny_copygen):
    model = make_tiny_copygen()
    src = tokenizer(["one text here", "another somewhat longer text here"], return_tensors="pt", padding=True)
    out = model.generate(src["input_ids"], src["attention_mask"], num_beams=3, num_return_sequences=3, max_new_tokens=12)
    assert out.shape[0] == 6 and out.shape[1] <= 14
    assert (out[:, 0] == model.config.decoder_start_token_id).all()
    for row in out.tolist():
        toks = [t for t in row[1:] if t not in (0, 102)]
        grams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
        assert len(grams) == len(set(grams))


def test_return_shapes(summ: Summarizer):
    one = summ.summarize(ARTICLE, num_beams=2)
    assert isinstance(one, str) and one
    many = summ.summarize([ARTICLE, "Japan protested on Monday. Tokyo summoned the envoy."], num_beams=2)
    assert isinstance(many, list) and len(many) == 2 and all(isinstance(s, str) for s in many)
    assert summ.summarize([ARTICLE], titles=["Missiles"], num_beams=1) != []


@pytest.mark.parametrize("bad", ["", "   \n\t "])
def test_empty_input_raises(summ: Summarizer, bad: str):
    with pytest.raises(ValueError, match="empty"):
        summ.summarize(bad)
    with pytest.raises(ValueError, match="text 1 is empty"):
        summ.summarize([ARTICLE, bad])


def test_titles_must_match(summ: Summarizer):
    with pytest.raises(ValueError, match="titles"):
        summ.summarize([ARTICLE, ARTICLE], titles=["one"])


def test_casing_length_and_repetition(summ: Summarizer):
    outs = summ.summarize([ARTICLE, ARTICLE.lower()], max_words=12, num_beams=2)
    for out in outs:
        assert not briefs.is_all_lower(out)
        assert len(out.split()) <= 12
        assert not briefs.has_repeated_ngrams(out, 3)


def test_faithfulness_check_picks_supported_brief(summ: Summarizer):
    # The random model writes noise; the check must never return unsupported names or numbers.
    out = summ.summarize(ARTICLE, num_beams=3)
    assert briefs.entity_precision(out, ARTICLE) == 1.0


def test_long_input_is_selected_not_crashed(summ: Summarizer, tokenizer):
    filler = " ".join(f"Officials in city number {i} discussed the weather at length." for i in range(200))
    long_text = ARTICLE + " " + filler
    assert len(tokenizer(long_text)["input_ids"]) > 512
    source = summ.prepare_input(long_text, "Missile launch")
    assert source.startswith("Missile launch. North Korea fired")
    assert len(source.split()) <= int(summ.config["max_source_tokens"] * 0.7) + 5
    out = summ.summarize(long_text, titles="Missile launch", num_beams=2)
    assert isinstance(out, str) and out


def test_model_refuses_inputs_over_its_length(tokenizer, make_tiny_copygen):
    model = make_tiny_copygen()
    with pytest.raises(ValueError, match="Select or truncate"):
        model.encode(torch.ones(1, 600, dtype=torch.long))


def test_build_source_strategies():
    assert build_source("First one. Second one.", "Title") == "Title. First one. Second one."
    assert build_source("First one. Second one.", "Title", strategy="truncate") == "First one. Second one."
    with pytest.raises(ValueError, match="strategy"):
        build_source("x", strategy="nope")


def test_save_load_round_trip(summ: Summarizer, tmp_path: Path):
    summ.save_pretrained(tmp_path / "copy")
    again = Summarizer.from_pretrained(tmp_path / "copy")
    stored = json.loads((tmp_path / "copy" / "defsum_config.json").read_text())
    assert stored["max_source_tokens"] == 128 and "versions" in stored
    for a, b in zip(summ.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    assert again.summarize(ARTICLE, num_beams=2) == summ.summarize(ARTICLE, num_beams=2)


def test_missing_folder_error(tmp_path: Path):
    from defsum.modelio import ModelLoadError

    with pytest.raises(ModelLoadError):
        Summarizer.from_pretrained(tmp_path / "nothing-here")


def test_unloaded_summarizer_says_how_to_load():
    with pytest.raises(RuntimeError, match="from_pretrained"):
        Summarizer(None, None).summarize("text")


@pytest.mark.slow
def test_training_script_runs_a_few_steps(tmp_path: Path):
    data = tmp_path / "pairs.jsonl"
    rows = [
        {"id": f"r{i}", "title": "Missiles", "document": ARTICLE, "summary": "North Korea fired two missiles on Tuesday."}
        for i in range(12)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "run"
    cmd = [
        sys.executable, str(ROOT / "training" / "train_summarizer.py"), "--out", str(out),
        "--pairs", f"{data},title=title,split=all", "--dev", f"{data}", "--dev-size", "2",
        "--steps", "3", "--batch-size", "2", "--max-source-tokens", "64", "--max-target-tokens", "24",
        "--threads", "1", "--eval-every", "3", "--save-every", "2", "--log-every", "1",
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=600)
    assert (out / "final" / "model.safetensors").is_file()
    summ = Summarizer.from_pretrained(out / "final")
    assert isinstance(summ.summarize(ARTICLE, num_beams=2), str)
    subprocess.run(cmd[:-6] + ["--steps", "4", "--eval-every", "4", "--save-every", "2", "--log-every", "1", "--resume"], check=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def tiny_bart_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """A plain Hugging Face seq2seq checkpoint (tiny random BART) with no defsum_config.json."""
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=tokenizer.vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_position_embeddings=300, pad_token_id=0, bos_token_id=101, eos_token_id=102,
        decoder_start_token_id=101, forced_eos_token_id=None,
    )
    folder = tmp_path_factory.mktemp("tiny_bart")
    BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_any_hf_seq2seq_checkpoint_loads(tiny_bart_dir: Path):
    summ = Summarizer.from_pretrained(tiny_bart_dir)
    summ.config["max_source_tokens"] = 256
    out = summ.summarize([ARTICLE, "Japan protested on Monday."], num_beams=2, max_words=10)
    assert len(out) == 2 and all(isinstance(s, str) and len(s.split()) <= 10 for s in out)


def test_generate_constrains_word_pieces_and_immediate_repeats(tokenizer, make_tiny_copygen):
    model = make_tiny_copygen()
    src = tokenizer(["Talks at Panmunjom ended."], return_tensors="pt")
    cont = sorted(i for w, i in tokenizer.get_vocab().items() if w.startswith("##"))
    allowed_pairs = set(zip(src["input_ids"][0].tolist(), src["input_ids"][0].tolist()[1:]))
    out = model.generate(src["input_ids"], num_beams=3, num_return_sequences=3, max_new_tokens=15, continuation_ids=cont)
    cont_set = set(cont)
    for row in out.tolist():
        toks = [t for t in row if t not in (0,)]
        for a, b in zip(toks, toks[1:]):
            assert a != b or b == 0
            if b in cont_set:
                assert (a, b) in allowed_pairs


def test_no_immediately_repeated_runs(tokenizer, make_tiny_copygen):
    model = make_tiny_copygen()
    src = tokenizer(["on tuesday on tuesday on tuesday the army said"], return_tensors="pt")
    out = model.generate(src["input_ids"], num_beams=2, num_return_sequences=2, max_new_tokens=20)
    for row in out.tolist():
        toks = [t for t in row[1:] if t not in (0, 102)]
        for n in (1, 2, 3):
            for i in range(len(toks) - 2 * n + 1):
                assert toks[i : i + n] != toks[i + n : i + 2 * n]


def test_beams_carry_scores_and_gates_fall_back_to_the_lead(summ: Summarizer):
    cands = summ.candidates(ARTICLE, num_beams=3)
    assert all(c.score is not None and c.score < 0 for c in cands)
    strict = Summarizer(summ.model, summ.tokenizer, dict(summ.config, min_score=0.0))  # no beam is that sure
    assert strict.summarize(ARTICLE, num_beams=3) == briefs.lead_sentence(ARTICLE)
    loose = Summarizer(summ.model, summ.tokenizer, dict(summ.config, min_score=-1e9, max_novel_words=99))
    assert isinstance(loose.summarize(ARTICLE, num_beams=3), str)


def test_passes_applies_novel_word_gate(summ: Summarizer):
    c = summ._check("South Korea's embassy in Khartoum reopened on Tuesday.", 0, "Sudan's embassy in Khartoum reopened on Tuesday.", None)
    assert c.novel_content == ("south", "korea")
    assert Summarizer(summ.model, summ.tokenizer, dict(summ.config, max_novel_words=2)).passes(c) == c.ok
    assert not Summarizer(summ.model, summ.tokenizer, dict(summ.config, max_novel_words=1)).passes(c)


def test_passes_applies_novel_trigram_gate(summ: Summarizer):
    source = "Duncan Bell has been added to the England squad to face Ireland in Dublin. He toured with England in 1998."
    jumped = summ._check("Duncan Bell has been added to the England squad to face Ireland in 1998.", 0, source, None)
    assert jumped.ok and jumped.novel_trigrams == ("ireland in 1998",)  # every name and word pair is in the article
    copied = summ._check("Duncan Bell has been added to the England squad to face Ireland in Dublin.", 0, source, None)
    assert copied.novel_trigrams == ()
    strict = Summarizer(summ.model, summ.tokenizer, dict(summ.config, max_novel_trigrams=0))
    assert not strict.passes(jumped) and strict.passes(copied)
    assert Summarizer(summ.model, summ.tokenizer, dict(summ.config, max_novel_trigrams=1)).passes(jumped)


def test_beam_cut_mid_phrase_fails_the_checks(summ: Summarizer):
    source = "Two fighter jets flew close to a destroyer in the southern Caribbean on Thursday, the Pentagon said."
    cut = summ._check("Two fighter jets flew close to a destroyer in the southern.", 0, source, None)
    assert cut.novel_trigrams == () and cut.clipped and not cut.ok
    whole = summ._check("Two fighter jets flew close to a destroyer in the southern Caribbean on Thursday.", 0, source, None)
    assert not whole.clipped and whole.ok


def test_missing_or_corrupt_files_are_refused(tiny_summarizer_dir: Path, tmp_path: Path):
    import shutil

    from defsum.modelio import ModelLoadError

    no_tokenizer = tmp_path / "no_tokenizer"
    shutil.copytree(tiny_summarizer_dir, no_tokenizer)
    (no_tokenizer / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match="tokenizer files"):
        Summarizer.from_pretrained(no_tokenizer)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_summarizer_dir, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="missing or corrupt"):
        Summarizer.from_pretrained(corrupt)


def test_gate_limits_are_checked_at_load(tiny_summarizer_dir: Path, tmp_path: Path):
    import shutil

    from defsum.modelio import ModelLoadError

    model = tmp_path / "model"
    shutil.copytree(tiny_summarizer_dir, model)
    cfg_path = model / "defsum_config.json"
    cfg = json.loads(cfg_path.read_text())
    for bad in ("none", -1, 1.5):
        cfg_path.write_text(json.dumps(dict(cfg, max_novel_trigrams=bad)))
        with pytest.raises(ModelLoadError, match="max_novel_trigrams"):
            Summarizer.from_pretrained(model)
    cfg_path.write_text(json.dumps(dict(cfg, max_novel_trigrams=0)))
    assert Summarizer.from_pretrained(model).config["max_novel_trigrams"] == 0


def test_clipped_abbreviation_is_not_a_brief(summ: Summarizer):
    c = summ._check("North Korea launched a missile at about 3:17 a.", 0, "North Korea launched a missile at about 3:17 a.m.", None)
    assert not c.sentence and not c.ok


def test_header_is_not_a_brief(summ: Summarizer):
    header = summ._check("Central Disaster and Safety Countermeasures Headquarters.", 0, "x", None)
    assert not header.sentence and not header.ok


def test_summary_precision(tiny_summarizer_dir: Path):
    bf16 = Summarizer.from_pretrained(tiny_summarizer_dir, precision="bf16")
    assert bf16.precision == "bf16" and isinstance(bf16.summarize(ARTICLE, num_beams=2), str)
    with pytest.raises(ValueError, match="int8"):
        Summarizer.from_pretrained(tiny_summarizer_dir, precision="int8")


def test_gap_sentence_examples_mask_a_principal_sentence(tmp_path: Path):
    sys.path.insert(0, str(ROOT / "training"))
    import argparse

    import train_summarizer as ts

    doc = ARTICLE + " The missiles flew about 300 km before landing in the sea. Officials in Tokyo condemned the launch."
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"id": "n1", "headline": "Missiles fired", "text": doc}) + "\n", encoding="utf-8")
    args = argparse.Namespace(max_target_words=45, max_source_tokens=192, gsg_per_doc=2)
    examples = ts.load_gsg([ts.Source(str(path), text="text", title="headline", split="all")], args)
    assert len(examples) == 2
    for ex in examples:
        assert ex["source"].count("[MASK]") == 1 and ex["source"].startswith("Missiles fired.")
        assert ex["target"] in doc and ex["target"] not in ex["source"]


def test_calibration_script_writes_gates(tiny_summarizer_dir: Path, tmp_path: Path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_summarizer_dir, model)
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps({"title": "Missiles", "text": ARTICLE, "brief": "North Korea fired two missiles."}) + "\n"
                           for _ in range(3)), encoding="utf-8")
    cmd = [sys.executable, str(ROOT / "training" / "calibrate_summarizer.py"), "--model", str(model), "--dev", str(dev),
           "--num-beams", "2", "--threads", "1", "--max-novel-trigrams", "1", "--out", str(tmp_path / "table.json"), "--write"]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=600)
    cfg = json.loads((model / "defsum_config.json").read_text())
    table = json.loads((tmp_path / "table.json").read_text())
    assert "min_score" in cfg and "max_novel_words" in cfg
    assert cfg["max_novel_trigrams"] == table["max_novel_trigrams"] == 1
    bad = subprocess.run(cmd[:-5] + ["--max-novel-trigrams", "few"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "'few': give a whole number" in bad.stderr
    assert (cfg["min_score"], cfg["max_novel_words"]) == (table["chosen"]["min_score"], table["chosen"]["max_novel_words"])
    assert len(table["table"]) > 10


def test_title_fallback(summ: Summarizer):
    text = "The night was cold. " + ARTICLE
    strict = Summarizer(summ.model, summ.tokenizer, dict(summ.config, min_score=0.0, fallback="title"))
    assert strict.summarize(text, titles="North Korea fires two ballistic missiles", num_beams=2).startswith("North Korea fired two")


def test_a_beam_too_long_for_the_limit(summ: Summarizer):
    beam = "north korea fired missiles over the sea near the coast of the peninsula in the early morning hours today"
    checked = summ._candidate(beam, 0, ARTICLE, None, max_words=8)
    assert checked.text == "" and not checked.ok  # no clause boundary: never a cut phrase, another beam or the fallback wins
    saved = summ.config["faithfulness_check"]
    summ.config["faithfulness_check"] = False
    try:  # unchecked decoding returns the best beam trimmed, never an empty brief
        trimmed = summ._candidate(beam, 0, ARTICLE, None, max_words=8).text
    finally:
        summ.config["faithfulness_check"] = saved
    assert trimmed and len(trimmed.split()) <= 8


def test_extractive_briefs_never_decode(summ: Summarizer, monkeypatch):
    texts = [ARTICLE, "Japan protested on Monday after the launch over its waters. Tokyo summoned the envoy of the North."]
    expect = [summ.extract(t) for t in texts]
    assert all(expect)
    monkeypatch.setattr(summ, "_generate", lambda *a, **k: pytest.fail("extractive briefs must not run the model"))
    assert summ.summarize(texts, extractive=True) == expect
    assert summ.summarize(texts[1], extractive=True, max_words=8) == summ.extract(texts[1], max_words=8)
    best = Summarizer(summ.model, summ.tokenizer, dict(summ.config, fallback="best"))
    with pytest.raises(ValueError, match="fallback is 'best'"):
        best.summarize(ARTICLE, extractive=True)


def test_bf16_summariser_saves_its_float_weights(tiny_summarizer_dir: Path, tmp_path: Path):
    from safetensors import safe_open

    bf16 = Summarizer.from_pretrained(tiny_summarizer_dir, precision="bf16")
    assert {p.dtype for p in bf16.model.parameters()} == {torch.bfloat16}
    bf16.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as saved:
        assert {saved.get_tensor(k).dtype for k in saved.keys()} == {torch.float32}


def test_summariser_training_data_errors_name_the_file(tmp_path: Path):
    sys.path.insert(0, str(ROOT / "training"))
    import argparse

    import train_summarizer as ts

    args = argparse.Namespace(max_target_words=45, max_source_tokens=192, min_support=0.5, dev="given")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "a", "title": "T", "text": ARTICLE, "brief": "North Korea fired two missiles on Monday."}) + "\n")
    with pytest.raises(SystemExit, match=r"corpus.jsonl: no usable pair .*Text field 'document', target field 'summary'; "
                                         r"the records have \['brief', 'id', 'text', 'title'\]"):
        ts.load_pairs([ts.Source(str(corpus), split="all")], args)
    assert len(ts.load_pairs([ts.Source(str(corpus), text="text", target="brief", split="all")], args)) == 1
    (tmp_path / "pairs.csv").write_text('document,summary\n"An article, with a comma.",A brief.\n')
    assert ts.read_records(ts.Source(str(tmp_path / "pairs.csv"))) == [
        {"document": "An article, with a comma.", "summary": "A brief.", "id": "pairs-0"}]  # a table reads too
    for name, body, message in (("a.jsonl", "document,summary\nx,y\n", "a.jsonl:1: invalid JSON"),
                                ("b.jsonl", json.dumps([{"document": "x"}]) + "\n", "b.jsonl:1: expected a JSON object, got list")):
        (tmp_path / name).write_text(body)
        with pytest.raises(SystemExit, match=message):
            ts.read_records(ts.Source(str(tmp_path / name)))
    with pytest.raises(SystemExit, match="no such file"):
        ts.read_records(ts.Source(str(tmp_path / "missing.jsonl")))


def _train_script():
    sys.path.insert(0, str(ROOT / "training"))
    import train_summarizer as ts

    return ts


def test_collate_drops_only_the_decoder_start_and_fills_in_the_mask_token(tokenizer):
    import argparse

    from transformers import PreTrainedTokenizerFast

    ts = _train_script()
    args = argparse.Namespace(max_source_tokens=32, max_target_tokens=8)
    batch = [{"source": f"Talks. {ts.GAP} Japan protested.", "target": "Kim left."}]
    cfg = {"prefix": ""}
    bert = ts.collate(batch, tokenizer, cfg, args, decoder_start=tokenizer.cls_token_id)
    assert bert["labels"][0, 0] != tokenizer.cls_token_id  # the copy model starts from [CLS]: labels do not repeat it
    assert tokenizer.mask_token_id in bert["input_ids"][0].tolist()
    kept = ts.collate(batch, tokenizer, cfg, args, decoder_start=tokenizer.sep_token_id)  # BART-like: starts elsewhere
    assert kept["labels"][0, 0] == tokenizer.cls_token_id  # its own opening token stays a label
    assert ts.collate(batch, tokenizer, cfg, args)["labels"].shape[1] == kept["labels"].shape[1]
    t5_like = PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer, pad_token="[PAD]",
                                      additional_special_tokens=["<extra_id_0>"])
    assert t5_like.mask_token is None and ts.gap_token(t5_like) == "<extra_id_0>"
    assert ts.gap_token(tokenizer) == "[MASK]"


class _RunsCode:
    """Unpickling this creates a file: what an unsafe load of a hostile checkpoint would do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_training_a_model_with_tied_embeddings_checkpoints_and_resumes(tmp_path: Path, tiny_bart_dir: Path):
    """BART ties its embeddings to its output layer: the checkpoint must store them once (it used to fail)."""
    data = tmp_path / "pairs.jsonl"
    rows = [{"id": f"r{i}", "title": "Missiles", "document": ARTICLE, "summary": "North Korea fired two missiles."} for i in range(8)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "training" / "train_summarizer.py"), "--base", str(tiny_bart_dir), "--out", str(out),
           "--pairs", f"{data},title=title,split=all", "--dev", str(data), "--dev-size", "2", "--batch-size", "2",
           "--max-source-tokens", "64", "--max-target-tokens", "16", "--threads", "1", "--log-every", "1", "--save-every", "1"]
    subprocess.run([*cmd, "--steps", "1", "--eval-every", "1"], check=True, cwd=ROOT, timeout=600, capture_output=True)
    done = subprocess.run([*cmd, "--steps", "2", "--eval-every", "2", "--resume"], cwd=ROOT, timeout=600, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "resumed at step 1" in done.stderr and (out / "final" / "model.safetensors").is_file()
    # a checkpoint from elsewhere cannot run code when resumed: state.pt is read as tensors and plain values only
    marker = tmp_path / "ran"
    torch.save({"step": _RunsCode(str(marker))}, out / "checkpoint" / "state.pt")
    bad = subprocess.run([*cmd, "--steps", "3", "--eval-every", "3", "--resume"], cwd=ROOT, timeout=600, capture_output=True, text=True)
    assert bad.returncode != 0 and not marker.exists() and "cannot read" in bad.stderr
    too_long = subprocess.run([*cmd[:-4], "--max-source-tokens", "400", "--steps", "1"], cwd=ROOT, timeout=600, capture_output=True, text=True)
    assert too_long.returncode != 0 and "more than the 300 tokens" in too_long.stderr


def test_copy_model_takes_its_special_tokens_from_the_encoder_tokenizer(tmp_path: Path):
    from transformers import BertConfig, BertModel, BertTokenizerFast, ElectraConfig, ElectraModel

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "kim", "left", "seoul", "."]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(str(tmp_path / "vocab.txt"))
    small = dict(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    bert = tmp_path / "bert"
    BertModel(BertConfig(**small, pad_token_id=0)).save_pretrained(bert)
    tok.save_pretrained(bert)
    cfg = CopyGenForConditionalGeneration.from_minilm(str(bert), max_target_positions=8).config
    assert (cfg.decoder_start_token_id, cfg.eos_token_id, cfg.pad_token_id, cfg.no_copy_token_ids) == (2, 3, 0, [0, 1, 2, 3, 4])
    electra = tmp_path / "electra"
    ElectraModel(ElectraConfig(**small, embedding_size=16)).save_pretrained(electra)
    tok.save_pretrained(electra)
    with pytest.raises(ValueError, match="'electra' model; the copy model is built from a BERT encoder"):
        CopyGenForConditionalGeneration.from_minilm(str(electra))


def test_an_encoder_only_folder_is_named_as_no_summariser(tmp_path: Path, tiny_classifier_dir: Path):
    import shutil

    from defsum.modelio import ModelLoadError

    base = tmp_path / "encoder"  # an encoder checkpoint, as a user might pass one (no defsum_config.json)
    shutil.copytree(tiny_classifier_dir, base, ignore=shutil.ignore_patterns("defsum_config.json"))
    with pytest.raises(ModelLoadError, match="holds a 'bert' model, which cannot be loaded as a summariser: it needs a seq2seq"):
        Summarizer.from_pretrained(base)
    with pytest.raises(ModelLoadError, match="is a defsum classifier folder, not the model asked for here"):
        Summarizer.from_pretrained(tiny_classifier_dir)


def test_inputs_are_cut_to_the_positions_the_model_has(tiny_bart_dir: Path, caplog: pytest.LogCaptureFixture):
    import shutil

    folder = tiny_bart_dir.parent / "bart_short_config"
    shutil.copytree(tiny_bart_dir, folder, dirs_exist_ok=True)
    (folder / "defsum_config.json").write_text(json.dumps({"max_source_tokens": 512, "fallback": "lead"}), encoding="utf-8")
    summ = Summarizer.from_pretrained(folder)
    assert summ.config["max_source_tokens"] == 300 and "more than the model's 300 positions" in caplog.text
    assert isinstance(summ.summarize(ARTICLE * 20, num_beams=2), str)  # it used to fail with an index error


def test_training_pairs_leave_out_copies_of_held_out_articles(tmp_path: Path):
    import argparse

    from defsum.data import is_held_out

    ts = _train_script()
    ids = [f"bbc-{i}" for i in range(60)]
    held = next(i for i in ids if is_held_out(i))
    free = [i for i in ids if not is_held_out(i)][:2]
    other = ("Iran and Saudi Arabia agreed on Friday to restore diplomatic relations after seven years, in a deal "
             "brokered by China, and said they would reopen their embassies within two months.")
    rows = [{"id": held, "text": ARTICLE, "summary": "North Korea fired two missiles."},
            {"id": free[0], "text": ARTICLE + " Officials said more details would follow.", "summary": "North Korea fired two missiles."},
            {"id": free[1], "text": other, "summary": "Iran and Saudi Arabia agreed to restore relations."}]
    src = ts.Source.parse(f"{tmp_path / 'pairs.jsonl'},text=text,target=summary")
    args = argparse.Namespace(dev="given", max_target_words=45, min_support=0.0, max_source_tokens=128)
    pairs = ts.pairs_from_rows(src, rows, args)
    assert [p["target"] for p in pairs] == ["Iran and Saudi Arabia agreed to restore relations."]  # the held-out one and its copy left out
    assert ts.held_out_rows(rows, ts.Source.parse(f"{tmp_path / 'pairs.jsonl'},split=all"), is_held_out) == set()


def test_eval_minutes_evaluates_by_time_as_well_as_by_steps(tmp_path: Path, tiny_bart_dir: Path):
    """--eval-minutes is for hardware of unknown speed (a borrowed GPU): evaluation by the clock."""
    data = tmp_path / "pairs.jsonl"
    rows = [{"id": f"r{i}", "title": "Missiles", "document": ARTICLE, "summary": "North Korea fired two missiles."} for i in range(4)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cmd = [sys.executable, str(ROOT / "training" / "train_summarizer.py"), "--base", str(tiny_bart_dir),
           "--pairs", f"{data},title=title,split=all", "--dev", str(data), "--dev-size", "2", "--batch-size", "2",
           "--max-source-tokens", "64", "--max-target-tokens", "16", "--threads", "1", "--steps", "3", "--eval-every", "100",
           "--save-every", "100"]
    evaluated = {}
    for name, extra in (("steps", []), ("clock", ["--eval-minutes", "0.00001"])):
        out = tmp_path / name
        subprocess.run([*cmd, "--out", str(out), *extra], check=True, cwd=ROOT, timeout=600, capture_output=True)
        history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
        evaluated[name] = [h["step"] for h in history if "dev_rougeL" in h]
    assert evaluated == {"steps": [3], "clock": [1, 2, 3]}
