"""Training scripts, run for a few steps (slow: `pytest -m slow`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from defsum import EventClassifier

ROOT = Path(__file__).resolve().parents[1]


def test_train_classifier_help_documents_options():
    out = subprocess.run([sys.executable, str(ROOT / "training/train_classifier.py"), "--help"], capture_output=True, text=True, check=True).stdout
    for option in ("--base", "--train", "--weak", "--validation", "--test", "--output", "--epochs", "--lr", "--batch-size",
                   "--max-length", "--overlap", "--patience", "--freeze-layers", "--seed", "--save-fp16"):
        assert option in out


@pytest.mark.slow
def test_train_classifier_few_steps(tmp_path):
    rows = [json.loads(line) for line in (ROOT / "data/corpus/train.jsonl").read_text().splitlines()]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:24]))
    (tmp_path / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[24:36]))
    out = tmp_path / "model"
    subprocess.run([sys.executable, str(ROOT / "training/train_classifier.py"), "--train", str(tmp_path / "train.jsonl"),
                    "--validation", str(tmp_path / "val.jsonl"), "--test", str(tmp_path / "val.jsonl"), "--output", str(out),
                    "--max-steps", "2", "--batch-size", "4", "--max-length", "96", "--overlap", "16", "--freeze-layers", "4"],
                   check=True, cwd=ROOT, timeout=900)
    clf = EventClassifier.from_pretrained(out)
    assert clf.config["aggregation"] in ("max", "mean", "first") and set(clf.config["thresholds"]) == set(clf.labels)
    assert (out / "README.md").read_text().startswith("---") and (out / "model.safetensors").exists()
    assert clf.predict("North Korea fired a missile.").primary in (*clf.labels, "none")


def test_train_classifier_from_a_base_stored_in_fp16(tiny_classifier_dir, tmp_path):
    """A defsum model folder (weights stored in fp16, as shipped) is a valid --base, with --bf16."""
    base = tmp_path / "fp16_base"
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    clf.model.half()
    clf.save_pretrained(base)
    assert json.loads((base / "config.json").read_text())["dtype"] == "float16"
    rows = [json.loads(line) for line in (ROOT / "data/corpus/train.jsonl").read_text().splitlines()]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:8]))
    (tmp_path / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[8:14]))
    negative = {**rows[14], "labels": [], "primary": "none", "known_labels": ["elite_defection"]}
    (tmp_path / "weak.jsonl").write_text(json.dumps(negative) + "\n")  # a partially labelled record goes through training
    out = tmp_path / "model"
    done = subprocess.run([sys.executable, str(ROOT / "training/train_classifier.py"), "--base", str(base), "--bf16",
                           "--train", str(tmp_path / "train.jsonl"), "--weak", str(tmp_path / "weak.jsonl"),
                           "--validation", str(tmp_path / "val.jsonl"), "--test", "", "--output", str(out), "--max-steps", "1", "--batch-size", "4", "--max-length", "64", "--overlap", "16"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert EventClassifier.from_pretrained(out).predict("North Korea fired a missile.").primary in (*clf.labels, "none")


def _train_module():
    sys.path.insert(0, str(ROOT / "training"))
    import train_classifier

    return train_classifier


def test_masked_loss_counts_only_known_labels():
    torch = pytest.importorskip("torch")
    masked_bce = _train_module().masked_bce
    logits = torch.tensor([[3.0, -2.0, 0.5], [-1.0, 4.0, 2.0]])
    targets = torch.tensor([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    per = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    assert torch.isclose(masked_bce(logits, targets), per.mean())  # no mask: every label, as before
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    expected = (per[0, 0] / 3 + per[1].mean()) / 2  # record 0 speaks for its first label only, at the usual weight
    assert torch.isclose(masked_bce(logits, targets, mask), expected)
    weights = torch.tensor([0.5, 1.0])
    assert torch.isclose(masked_bce(logits, targets, mask, weights), (0.5 * per[0, 0] / 3 + per[1].mean()) / 2)
    # a wrong target on an unknown label changes nothing
    assert torch.isclose(masked_bce(logits, torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]), mask), expected)


def test_load_reads_known_labels(tmp_path):
    tc = _train_module()
    base = {"title": "T", "text": "Some text.", "date": None, "brief": ""}
    rows = [{**base, "id": "a", "labels": ["diplomacy"], "primary": "diplomacy"},
            {**base, "id": "b", "labels": [], "primary": "none", "known_labels": ["elite_defection"]}]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = tc.parse_args(["--output", str(tmp_path / "out")])
    loaded = tc.load([str(path)], args, 0.5)
    assert [r["mask"] for r in loaded] == [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]] and loaded[1]["weight"] == 0.5
    for bad in ([], ["coup"], "elite_defection"):
        path.write_text(json.dumps({**rows[1], "known_labels": bad}) + "\n")
        with pytest.raises(SystemExit, match=f"{path}: record 'b': 'known_labels' must be a non-empty list"):
            tc.load([str(path)], args, 1.0)


def test_bad_inputs_fail_before_training(tiny_classifier_dir, tmp_path):
    rows = [json.loads(line) for line in (ROOT / "data/corpus/train.jsonl").read_text().splitlines()]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:6]))
    script = [sys.executable, str(ROOT / "training/train_classifier.py"), "--base", str(tiny_classifier_dir),
              "--train", str(tmp_path / "train.jsonl"), "--validation", str(tmp_path / "train.jsonl"), "--max-steps", "1"]
    out = tmp_path / "model"
    typo = subprocess.run([*script, "--test", str(tmp_path / "tset.jsonl"), "--output", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert typo.returncode != 0 and f"cannot train on {tmp_path / 'tset.jsonl'}" in typo.stderr
    assert not out.exists()  # nothing was trained, so no checkpoints/ either
    short = subprocess.run([*script, "--max-length", "64", "--output", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert short.returncode == 2 and "lower --overlap or raise --max-length" in short.stderr


def test_own_field_names_are_checked(tmp_path):
    tc = _train_module()
    args = tc.parse_args(["--output", str(tmp_path / "out"), "--text-field", "body", "--labels-field", "tags"])
    path = tmp_path / "rows.jsonl"
    for row, message in (({"body": "Some text.", "tags": "provocation,diplomacy"}, "field 'tags' must be a list"),
                         ({"body": "Some text.", "tags": ["Diplomacy"]}, "field 'tags' must be a list drawn from"),
                         ({"text": "Some text.", "tags": []}, r"missing field\(s\) \['body'\]"),
                         ({"body": "Some text.", "tags": ["diplomacy"], "primary": "provocation"}, "field .primary. is .provocation., which is not among labels")):
        path.write_text(json.dumps(row) + "\n")
        with pytest.raises(SystemExit, match=f"cannot train on {path}: {path}:1: {message}"):
            tc.load([str(path)], args, 1.0)
    path.write_text(json.dumps({"body": "Some text.", "tags": ["diplomacy"]}) + "\n")
    assert tc.load([str(path)], args, 1.0)[0]["labels"] == ["diplomacy"]
    headline = tc.parse_args(["--output", str(tmp_path / "out"), "--title-field", "headline"])  # any own name: own data
    path.write_text(json.dumps({"headline": "H", "text": "Some text.", "labels": []}) + "\n")
    assert tc.load([str(path)], headline, 1.0)[0]["title"] == "H"
    # weak-label files are in the record format whatever --text-field says
    base = {"id": "w", "title": "T", "text": "Some text.", "date": None, "labels": [], "primary": "none", "brief": ""}
    path.write_text(json.dumps(base) + "\n")
    assert tc.load([str(path)], args, 0.5, own_fields=False)[0]["text"] == "Some text."


def test_one_primary_class_fits_no_head_and_a_stale_head_is_removed(tiny_classifier, tmp_path):
    tc = _train_module()
    rows = [{"text": f"North Korea fired a missile on day {i}.", "title": "", "labels": ["provocation"], "primary": "provocation"}
            for i in range(4)]
    calib = tc.calibrate(tiny_classifier, rows, rows)  # one primary class: a 4-way head cannot be fitted
    assert calib["primary_rule"] != "head" and tiny_classifier.primary_head is None
    from defsum.primary_head import FILENAME, PrimaryHead

    (tmp_path / FILENAME).write_bytes(b"stale")
    tiny_classifier.save_pretrained(tmp_path)
    assert not (tmp_path / FILENAME).exists()
    assert PrimaryHead.load(tmp_path) is None


def test_a_base_with_another_head_size_gets_a_new_head(tmp_path, tokenizer):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=2)
    base = tmp_path / "two_label_base"
    BertForSequenceClassification(config).save_pretrained(base, safe_serialization=True)
    tokenizer.save_pretrained(base)
    rows = [json.loads(line) for line in (ROOT / "data/corpus/train.jsonl").read_text().splitlines()]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:8]))
    out = tmp_path / "model"
    done = subprocess.run([sys.executable, str(ROOT / "training/train_classifier.py"), "--base", str(base),
                           "--train", str(tmp_path / "train.jsonl"), "--validation", str(tmp_path / "train.jsonl"), "--test", "",
                           "--output", str(out), "--max-steps", "1", "--batch-size", "4", "--max-length", "64", "--overlap", "16"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert EventClassifier.from_pretrained(out).model.config.num_labels == 3


def test_a_base_the_classifier_cannot_use_is_refused_before_training(tokenizer):
    import argparse

    from transformers import BartConfig, BartForSequenceClassification, BertConfig, BertForSequenceClassification

    train_classifier = _train_module()
    small = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=3)
    bert = BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=128, **small))
    train_classifier.check_base(bert, tokenizer, "short-bert", argparse.Namespace(max_length=128))
    with pytest.raises(SystemExit, match="--max-length 256 is more than the 128 tokens --base short-bert can read"):
        train_classifier.check_base(bert, tokenizer, "short-bert", argparse.Namespace(max_length=256))
    bart = BartForSequenceClassification(BartConfig(vocab_size=tokenizer.vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                                                    encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                                                    decoder_ffn_dim=32, num_labels=3))
    with pytest.raises(SystemExit, match="a bart encoder-decoder model; the classifier needs an encoder"):
        train_classifier.check_base(bart, tokenizer, "bart", argparse.Namespace(max_length=128))


@pytest.mark.parametrize("kind", ["bert", "distilbert", "modernbert"])
def test_freeze_layers_finds_the_layers_of_other_encoders(kind):
    """--freeze-layers used to accept BERT-like models only (.encoder.layer): DistilBERT and ModernBERT were refused."""
    import transformers

    train_classifier = _train_module()
    small = {"bert": dict(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32),
             "distilbert": dict(dim=16, n_layers=3, n_heads=2, hidden_dim=32),
             "modernbert": dict(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32,
                                pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2)}[kind]
    config = transformers.AutoConfig.for_model(kind, vocab_size=200, num_labels=3, **small)
    model = transformers.AutoModelForSequenceClassification.from_config(config)
    frozen = train_classifier.freeze_lower(model, 2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert frozen == sum(p.numel() for p in model.parameters() if not p.requires_grad) > 0
    assert not any("embeddings" in n for n in trainable)  # the embeddings are frozen
    assert any(".2." in n for n in trainable) and not any(".0." in n or ".1." in n for n in trainable)  # layers 0-1 frozen, 2 not
    assert any("classifier" in n for n in trainable)
    with pytest.raises(SystemExit, match="has 3 layers"):
        train_classifier.freeze_lower(model, 4)


def test_tables_train_like_jsonl(tmp_path):
    """A spreadsheet export trains too: CSV or TSV with a header row, labels as a JSON list or
    names separated by ';', ',', '|' or spaces, an empty cell or 'none' for no label; errors name
    the file and line."""
    tc = _train_module()
    args = tc.parse_args(["--output", str(tmp_path / "out"), "--text-field", "body", "--labels-field", "tags"])
    table = tmp_path / "mine.csv"
    table.write_text('headline,body,tags,known_labels\n'
                     'H1,"Troops fired shells, officials said.",provocation; diplomacy,\n'
                     'H2,Talks resumed.,"[""diplomacy""]",\n'
                     'H3,Nothing much happened.,,elite_defection\n'
                     '\n'
                     'H4,A quiet day.,none,\n', encoding="utf-8-sig")
    rows = tc.load([str(table)], args, 1.0)
    assert [r["labels"] for r in rows] == [["provocation", "diplomacy"], ["diplomacy"], [], []]
    assert rows[0]["text"] == "Troops fired shells, officials said." and rows[2]["mask"] == [1.0, 0.0, 0.0]
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("body\ttags\nTalks resumed.\tdiplomacy|provocation\n")
    assert tc.load([str(tsv)], args, 1.0)[0]["labels"] == ["diplomacy", "provocation"]
    for body, message in (("body,tags\nText.,coup\n", r"mine.csv:2: field 'tags' must be a list drawn from"),
                          ("body,tags\nText.,\"[diplomacy\"\n", r"mine.csv:2: field 'tags': labels .* start like a JSON list"),
                          ("body,tags\nText.,diplomacy,extra\n", r"mine.csv:2: 3 cells where the header has 2 columns"),
                          ("body,tags\n,diplomacy\n", r"mine.csv:2: field 'body' is empty")):
        table.write_text(body)
        with pytest.raises(SystemExit, match=f"cannot train on {table}: .*{message}"):
            tc.load([str(table)], args, 1.0)


def test_table_exports_as_spreadsheets_write_them(tmp_path):
    """What Excel and its users produce: semicolons, capitalised labels, the default column names,
    a repeated or padded header, short rows, cells over several lines, a non-UTF-8 export."""
    tc = _train_module()
    args = tc.parse_args(["--output", str(tmp_path / "out")])  # default field names: text, title, labels
    table = tmp_path / "sheet.csv"
    table.write_text("title;text;labels;primary\nT;Troops fired, officials said.;Provocation|Diplomacy;Provocation\n"
                     "U;Quiet.;None;\n")
    rows = tc.load([str(table)], args, 1.0)  # no id, date or brief column needed in a table
    assert [(r["labels"], r["primary"]) for r in rows] == [(["provocation", "diplomacy"], "provocation"), ([], None)]
    assert rows[0]["text"] == "Troops fired, officials said."
    table.write_text(" title , text , labels \nT,Text.,diplomacy,,\n")  # padded names, a trailing separator
    assert tc.load([str(table)], args, 1.0)[0]["labels"] == ["diplomacy"]
    for body, message in (
        ("text,labels,labels\nText.,diplomacy,provocation\n", r"sheet.csv:1: the header repeats column\(s\) \['labels'\]"),
        ("text,title,labels\nText.,T\n", r"sheet.csv:2: 2 cells where the header has 3 columns"),
        ('text,labels\nFirst.,diplomacy\n"Line one\nline two",coup\n', r"sheet.csv:3: field 'labels' must be a list drawn from"),
        ('text,labels\n"Broken quote,diplomacy\nSecond.,provocation\n', r"sheet.csv:\d+: not readable as CSV"),
    ):
        table.write_text(body)
        with pytest.raises(SystemExit, match=f"cannot train on {table}: .*{message}"):
            tc.load([str(table)], args, 1.0)
    table.write_bytes("text,labels\nIt\u2019s fine.,diplomacy\nThe envoy\u2019s car.,diplomacy\n".encode("cp1252"))
    with pytest.raises(SystemExit, match=r"sheet.csv:2: not UTF-8 text \(byte 0x92\); save the sheet as UTF-8"):
        tc.load([str(table)], args, 1.0)
