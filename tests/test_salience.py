"""The sentence ranker: features, fitting, storage, and its use as the summariser's fallback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from defsum.modelio import ModelLoadError
from defsum.salience import FEATURES, FILENAME, SentenceRanker, candidates, label, mean_rouge
from defsum.summarizer import Summarizer

ROOT = Path(__file__).resolve().parents[1]
SCENES = [
    "The noise starts most nights a little after the evening television news.",
    "For three years the village of farmers and fishermen kept to itself quietly.",
    "It is hard to describe how strange the pictures looked to people at home.",
]
NEWS = [
    "North Korea fired two ballistic missiles into the sea on Monday, Seoul's military said.",
    "A senior North Korean diplomat in Rome defected to South Korea in July, officials said on Tuesday.",
    "Japan and South Korea agreed on Friday to resume talks on the disputed fishing zone, ministers said.",
]


def _articles(n: int) -> list[tuple[str, str, str]]:
    """Scene-setting openers followed by the news sentence, which is also the reference."""
    out = []
    for i in range(n):
        scene, news = SCENES[i % 3], NEWS[(i // 3) % 3]
        filler = "Residents in the area talked about the weather and the harvest for a long while."
        out.append((f"{scene} {news} {filler}", "", news))
    return out


def test_candidates_skip_headers_and_repeated_title():
    text = "Ministry of Defence\nMissiles fired into the sea\nSEOUL, May 2 - " + NEWS[0] + " " + SCENES[0]
    sents, feats = candidates(text, "Missiles fired into the sea")
    assert sents == [NEWS[0], SCENES[0]]
    assert feats.shape == (2, len(FEATURES))
    assert feats[0, FEATURES.index("is_first")] == 1 and feats[1, FEATURES.index("is_first")] == 0
    assert feats[0, FEATURES.index("has_date")] == 1 and feats[1, FEATURES.index("has_date")] == 0


def test_fit_learns_to_skip_scene_setting_openers():
    data = _articles(18)
    ranker = SentenceRanker.fit(data, c=1.0)
    assert all(ranker.best(text) == ref for text, _, ref in _articles(9))
    assert mean_rouge(label(data), ranker) > mean_rouge(label(data)) + 20  # the lead (first candidate) is the scene


def test_save_load_roundtrip(tmp_path: Path):
    ranker = SentenceRanker.fit(_articles(12))
    ranker.save(tmp_path)
    loaded = SentenceRanker.load(tmp_path)
    assert loaded is not None and np.allclose(loaded.weight, ranker.weight) and loaded.c == ranker.c
    text = _articles(3)[2][0]
    assert np.allclose(loaded.scores(text)[1], ranker.scores(text)[1])
    assert SentenceRanker.load(tmp_path / "missing") is None


def test_fit_weights_follow_their_records():
    data = _articles(18)
    no_candidate = ("Too short. Also short.", "", "Too short.")
    base = SentenceRanker.fit(data, c=1.0)
    padded = SentenceRanker.fit(data[:9] + [no_candidate] + data[9:], c=1.0, weights=[1.0] * 9 + [100.0] + [1.0] * 9)
    assert np.allclose(base.weight, padded.weight)  # the candidate-less record's weight went nowhere
    heavy = SentenceRanker.fit(data, c=1.0, weights=[5.0] * 9 + [1.0] * 9)
    assert not np.allclose(base.weight, heavy.weight)
    with pytest.raises(ValueError, match="weights"):
        SentenceRanker.fit(data, weights=[1.0])


def test_best_never_returns_the_headline():
    ranker = SentenceRanker(np.zeros(len(FEATURES)))
    assert ranker.best("Kim visits Moscow\nHe left.", "Kim visits Moscow") == "He left."
    assert ranker.best("Kim visits Moscow", "Kim visits Moscow") == ""


def test_best_returns_no_blob_or_looping_line():
    ranker = SentenceRanker(np.zeros(len(FEATURES)))
    assert ranker.best("x" * 5000) == ""  # one run of characters, no sentence
    looping = " ".join(["north korea fired a missile on monday and officials condemned it"] * 10)
    # no candidate (it repeats trigrams); the fallback line gives its first round, which repeats nothing
    assert ranker.best(looping) == "North korea fired a missile on Monday and officials condemned it."
    assert ranker.best(" ".join(["share this story on facebook twitter"] * 10)) == ""  # no clause before the repeat
    assert ranker.best("Kim visits Moscow\nHe left for Moscow on Monday.", "Kim visits Moscow") == "He left for Moscow on Monday."


def test_damaged_ranker_file_is_refused(tmp_path: Path):
    (tmp_path / FILENAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        SentenceRanker.load(tmp_path)
    import torch
    from safetensors.torch import save_file

    save_file({"other": torch.zeros(2)}, str(tmp_path / FILENAME), metadata={"features": json.dumps(list(FEATURES))})
    with pytest.raises(ValueError, match="holds no ranker weights"):
        SentenceRanker.load(tmp_path)


def test_wrong_feature_list_is_refused(tmp_path: Path):
    import torch
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(len(FEATURES))}, str(tmp_path / FILENAME),
              metadata={"features": json.dumps(["position"])})
    with pytest.raises(ValueError, match="refit it"):
        SentenceRanker.load(tmp_path)


def test_summarizer_salient_fallback(tmp_path: Path, tiny_summarizer_path: Path):
    folder = tmp_path / "summ"
    shutil.copytree(tiny_summarizer_path, folder)
    cfg_path = folder / "defsum_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.update(fallback="salient", min_score=0.0)  # no beam passes: every brief is the ranker's pick
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="sentence_ranker.safetensors"):
        Summarizer.from_pretrained(folder)
    SentenceRanker.fit(_articles(18)).save(folder)
    summ = Summarizer.from_pretrained(folder)
    text, _, ref = _articles(2)[1]
    assert summ.summarize(text, num_beams=2) == ref
    summ.save_pretrained(tmp_path / "copy")
    assert (tmp_path / "copy" / FILENAME).is_file()
    # a headline alone has no sentence to fall back to: no brief, never a beam that failed the checks
    assert summ.summarize("Diplomat defects", titles="Diplomat defects", num_beams=2) == ""
    assert summ.summarize("Diplomat defects", titles="Diplomat defects", extractive=True) == ""
    # a bare web address is no brief either (it used to come back sentence-cased: "Https://example.com/x.")
    assert summ.summarize("https://example.com/x", extractive=True) == ""
    assert summ.summarize("Kim Jong Un visits Beijing.", extractive=True) == "Kim Jong Un visits Beijing."
    (folder / FILENAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="not a readable safetensors file"):
        Summarizer.from_pretrained(folder)


def test_training_script_writes_ranker(tmp_path: Path):
    rows = [{"id": f"a{i}", "title": "", "text": t, "brief": r} for i, (t, _, r) in enumerate(_articles(18))]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "model").mkdir()
    spec = f"{data},text=text,reference=brief,title=title"
    cmd = [sys.executable, str(ROOT / "training" / "train_sentence_ranker.py"), "--model", str(tmp_path / "model"),
           "--train", spec, "--dev", spec + ",buckets=0-4", "--c", "0.1", "1", "--out", str(tmp_path / "report.json")]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=300)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["chosen_mean_rougeL"] > sum(report["lead_rougeL"].values())
    assert SentenceRanker.load(tmp_path / "model") is not None
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x1", "text": "Some text here.", "title": "T"}) + "\n", encoding="utf-8")
    res = subprocess.run(cmd[:4] + ["--train", f"{bad},text=text,reference=brief"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "x1" in res.stderr and "'brief'" in res.stderr


def test_summarizer_training_keeps_the_base_ranker(tmp_path: Path, tiny_summarizer_path: Path):
    import argparse

    sys.path.insert(0, str(ROOT / "training"))
    import train_summarizer as ts

    folder = tmp_path / "base"
    shutil.copytree(tiny_summarizer_path, folder)
    cfg = json.loads((folder / "defsum_config.json").read_text())
    (folder / "defsum_config.json").write_text(json.dumps(dict(cfg, fallback="salient")))
    SentenceRanker.fit(_articles(18)).save(folder)
    args = argparse.Namespace(base=str(folder), encoder=None, max_source_tokens=64, max_target_tokens=16)
    model, tokenizer, config, ranker = ts.build_model(args)
    assert ranker is not None and config["fallback"] == "salient"
    ts.export(model, tokenizer, config, tmp_path / "out", fp16=False, ranker=ranker)
    assert Summarizer.from_pretrained(tmp_path / "out").ranker is not None
    (folder / FILENAME).unlink()
    assert ts.build_model(args)[2]["fallback"] == "title"  # no ranker to carry: a fallback that needs none


def test_candidates_are_complete_sentences_within_the_limit():
    long_news = (
        "Swedish warships dropped depth charges in the waters south of Stockholm for the eleventh day "
        "running today in the hunt for at least one foreign submarine believed to be trapped near the base."
    )
    cut_news = "North Korea fired two missiles into the sea on Monday, a launch that Seoul condemned at once."
    looping = "The talks ended on Monday and the talks ended without a deal."  # fits, but loops
    text = f"{long_news} {cut_news} {looping} {SCENES[0]}"
    sents, _ = candidates(text, max_words=14)
    assert sents == ["North Korea fired two missiles into the sea on Monday.", SCENES[0]]
    # the ranker picks among them even when it scores the long opener highest
    ranker = SentenceRanker(np.eye(len(FEATURES))[FEATURES.index("is_first")])
    assert ranker.best(text, max_words=14) == "North Korea fired two missiles into the sea on Monday."


def test_fit_on_hand_labels_pairs_every_positive_with_every_negative():
    """0/1 targets (sentences that state the news) with two positives in an article: both must
    outscore the negatives, so neither positive is treated as worse than the other."""
    articles = []
    for text, _, ref in _articles(18):
        sents, feats = candidates(text)
        articles.append((feats, np.array([float(s == ref) for s in sents])))
    ranker = SentenceRanker.fit_labelled(articles, c=1.0)
    assert all(ranker.best(text) == ref for text, _, ref in _articles(9))
    two = np.array([[1.0] + [0.0] * (len(FEATURES) - 1), [0.5] + [0.0] * (len(FEATURES) - 1), [0.0] * len(FEATURES)])
    tied = SentenceRanker.fit_labelled([(two, np.array([1.0, 1.0, 0.0]))] * 4, c=1.0)
    assert tied.weight[0] > 0  # both positives sit above the negative on the one informative feature
    with pytest.raises(ValueError, match="worse than its best"):
        SentenceRanker.fit_labelled([(two, np.array([1.0, 1.0, 1.0]))])


def test_ranker_training_leaves_out_copies_of_other_buckets(tmp_path: Path):
    """A training slice (buckets=2-9) drops records that copy a held-out or validation record under another id."""
    sys.path.insert(0, str(ROOT / "training"))
    import train_sentence_ranker as tr

    from defsum.data import id_bucket

    ids = [f"n-{i}" for i in range(80)]
    held, dev = next(i for i in ids if id_bucket(i) == 0), next(i for i in ids if id_bucket(i) == 1)
    train = [i for i in ids if id_bucket(i) >= 2][:3]
    texts = [t for t, _, _ in _articles(5)][:2] + [
        "Iran and Saudi Arabia agreed on Friday to restore diplomatic relations after seven years, in a deal brokered by "
        "China, and said they would reopen their embassies within two months."]
    rows = [{"id": held, "text": texts[0], "summary": "s"}, {"id": dev, "text": texts[1], "summary": "s"},
            {"id": train[0], "text": texts[0] + " Officials said more would follow.", "summary": "s"},  # a copy of the held-out one
            {"id": train[1], "text": texts[1], "summary": "s"},  # a copy of the validation one
            {"id": train[2], "text": texts[2], "summary": "s"}]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    [(_, kept)] = tr.load([f"{data},text=text,buckets=2-9"], training=True)
    assert [t for t, _, _ in kept] == [texts[2]]
    [(_, dev_rows)] = tr.load([f"{data},text=text,buckets=2-9"])  # a --dev spec is read as it is
    assert len(dev_rows) == 3
    [(_, everything)] = tr.load([f"{data},text=text"], training=True)  # every bucket: nothing to protect
    assert len(everything) == 5


@pytest.mark.parametrize("text", [
    "北京消息。朝鲜周三向日本海发射了一枚弹道导弹，韩国联合参谋本部表示。日本政府称导弹落在其专属经济区外。",
    "북한이 수요일 동해상으로 탄도미사일 한 발을 발사했다. 일본 정부는 미사일이 수역 밖에 떨어졌다고 말했다.",
])
def test_best_gives_an_article_in_another_script_its_lead_sentence(text):
    ranker = SentenceRanker.fit(_articles(9))
    assert candidates(text)[0] == []  # the ranker reads English sentences only
    lead = {"北": "朝鲜周三向日本海发射了一枚弹道导弹,韩国联合参谋本部表示。",  # not the dateline "北京消息。"
            "북": "북한이 수요일 동해상으로 탄도미사일 한 발을 발사했다."}[text[0]]
    assert ranker.best(text, "북한 미사일 발사") == lead


def test_an_only_sentence_that_repeats_a_phrase_gives_its_part_before_the_repeat():
    """An article whose only sentence says "of the DPRK" twice got no brief at all (a brief never
    repeats a word trigram); its part before the repeat is one, when that part is a clause."""
    ranker = SentenceRanker.fit(_articles(9))
    text = ("Pyongyang, July 28 (KCNA) -- A delegation of the DPRK Ministry of Electric Power Industry headed by its "
            "vice-minister left here by air on July 27 to attend the fifth meeting of the DPRK-Russia joint working group.")
    assert ranker.best(text, "DPRK delegation leaves") == ("A delegation of the DPRK Ministry of Electric Power Industry headed by "
                                                          "its vice-minister left here by air on July 27 to attend the fifth meeting.")
    no_clause = "The members of the board of the bank and the members of the board of the fund."
    assert ranker.best(no_clause) == ""  # no verb before the repeat: still no brief rather than a fragment
