"""Metrics and the evaluators, checked against values computed by hand."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from defsum.labels import LABELS
from defsum.metrics import (apply_temperature, bootstrap_ci, classification_metrics, expected_calibration_error,
                            fit_temperature, tune_thresholds)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))


def test_classification_metrics_by_hand():
    y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 0]])
    yhat = np.array([[1, 0, 0], [1, 1, 1], [0, 1, 0], [0, 1, 0]])
    m = classification_metrics(y, yhat, LABELS)
    # elite_defection: tp 1, fp 1, fn 1 -> p 0.5 r 0.5 f1 0.5
    assert m["per_label"]["elite_defection"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # provocation: tp 2, fp 1, fn 0 -> p 2/3 r 1 f1 0.8
    assert m["per_label"]["provocation"]["f1"] == 0.8
    # diplomacy: tp 1, fp 0, fn 1 -> p 1 r 0.5 f1 2/3
    assert m["per_label"]["diplomacy"]["f1"] == pytest.approx(0.6667, abs=1e-4)
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3, abs=1e-4)
    # micro: tp 4, fp 2, fn 2 -> f1 = 8 / (8 + 4)
    assert m["micro_f1"] == pytest.approx(8 / 12, abs=1e-4)


def test_ece_by_hand():
    y = np.array([[1], [0], [1], [1]])
    p = np.array([[0.9], [0.9], [0.2], [0.2]])
    # bin 0.9: mean p 0.9, frequency 0.5 -> |0.4| * 2/4; bin 0.2: mean 0.2, frequency 1 -> |0.8| * 2/4
    assert expected_calibration_error(y, p) == pytest.approx(0.6)


def test_thresholds_temperature_and_bootstrap():
    y = np.array([[1], [1], [0], [0]])
    p = np.array([[0.3], [0.35], [0.1], [0.2]])
    t = tune_thresholds(y, p)[0]
    assert 0.2 < t <= 0.3
    over = np.array([[0.99], [0.99], [0.01], [0.98]])  # overconfident: one mistake at 0.98
    temp = fit_temperature(np.array([[1], [1], [0], [0]]), over)
    assert temp > 1.0
    assert apply_temperature(np.array([[0.5]]), 3.0)[0, 0] == pytest.approx(0.5)
    lo, hi = bootstrap_ci(lambda idx: float(np.mean(np.array([0, 1, 1, 1])[idx])), 4, rounds=300)
    assert 0 <= lo <= 0.75 <= hi <= 1


def test_evaluate_classifier_on_tiny_model(tmp_path, tiny_classifier_dir):
    from evaluate_classifier import evaluate

    model = tmp_path / "all_on"
    shutil.copytree(tiny_classifier_dir, model)
    cfg = json.loads((model / "defsum_config.json").read_text())
    cfg["thresholds"] = {label: 0.0 for label in LABELS}  # every label predicted for every article
    (model / "defsum_config.json").write_text(json.dumps(cfg))
    rows = [
        {"id": "1", "title": "A", "text": "Envoys met in Geneva.", "labels": ["diplomacy"], "primary": "diplomacy"},
        {"id": "2", "title": "B", "text": "A colonel defected.", "labels": ["elite_defection"], "primary": "elite_defection"},
        {"id": "3", "title": "C", "text": "Missiles were fired and talks began.", "labels": ["provocation", "diplomacy"], "primary": "provocation"},
        {"id": "4", "title": "D", "text": "A storm hit the coast.", "labels": [], "primary": "none"},
    ]
    res = evaluate(str(model), {"tiny": rows}, tmp_path / "report", baselines=None, rounds=50)
    m = res["tiny"]
    # all predicted: precision = support / 4, recall = 1, F1 = 2p / (1 + p)
    for label, support in (("elite_defection", 1), ("provocation", 1), ("diplomacy", 2)):
        p = support / 4
        assert m["per_label"][label]["precision"] == pytest.approx(p)
        assert m["per_label"][label]["recall"] == 1.0
        assert m["per_label"][label]["f1"] == pytest.approx(2 * p / (1 + p), abs=1e-4)
    assert m["n"] == 4 and m["primary_accuracy"] <= 0.75  # "none" can never be predicted here
    report = (tmp_path / "report" / "report.md").read_text()
    assert "macro-F1" in report and "tiny_confusion.png" in report
    for png in ("tiny_confusion.png", "tiny_pr_curves.png", "tiny_reliability.png"):
        assert (tmp_path / "report" / png).stat().st_size > 5000
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["tiny"]["n"] == 4


def test_evaluate_summarizer_against_hand_values(tiny_summarizer_path):
    import argparse

    from rouge_score import rouge_scorer

    from defsum import Summarizer, briefs
    from evaluate_summarizer import evaluate_set, lead, rouge

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    assert rouge(scorer, ["the cat sat"], ["the cat sat"]) == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    # unigrams: 1 of 2 match each way -> F1 0.5; no bigram matches
    assert rouge(scorer, ["the cat"], ["the dog"]) == {"rouge1": 50.0, "rouge2": 0.0, "rougeL": 50.0}
    # names and numbers: kim, jong, un, putin, 2024 -> 4 of 5 in the article
    assert briefs.entity_precision("Kim Jong Un met Putin in 2024.", "Kim Jong Un met Vladimir Putin on Friday.") == 0.8
    text = "Envoys met in Geneva on Monday. They agreed to meet again. Nothing else happened."
    assert lead(text, 1) == "Envoys met in Geneva on Monday."
    rows = [{"id": "1", "title": "Talks", "text": text, "reference": "Envoys met in Geneva on Monday."}]
    args = argparse.Namespace(max_words=45, num_beams=2, batch_size=2, samples=1, fallback_compare=False, long_compare=False)
    res = evaluate_set(Summarizer.from_pretrained(tiny_summarizer_path), rows, args, scorer)
    assert res["lead1"] == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}  # the reference is the lead sentence
    # Lead-2 adds 5 words to the 6 of the reference: precision 6/11, recall 1 -> F1 = 12/17
    assert res["lead2"]["rouge1"] == pytest.approx(100 * 12 / 17, abs=0.01)
    assert res["reference_words"] == 6 and res["n"] == 1
    assert res["reference_novel_trigrams_per_brief"] == 0  # the reference is copied from the article


def test_novel_trigrams_per_brief():
    from evaluate_summarizer import novel_trigrams

    source = "North Korea fired two missiles on Monday. Japan protested."
    # "japan fired missiles", "fired missiles on" are new; "missiles on monday" is not
    assert novel_trigrams(["North Korea fired two missiles.", "Japan fired missiles on Monday."], [source, source]) == 1.0


def test_baselines_fit_the_classifier_training_data_with_its_weights(tmp_path, monkeypatch):
    from baselines import TfidfBaseline, model_training_data, training_rows

    assert model_training_data(ROOT / "defsum/models/classifier") == (
        ["data/corpus/train.jsonl", "data/hard_negatives/train.jsonl", "data/supplement/train.jsonl"], ["data/weak/weak_news.jsonl"], 0.5)
    train, weak = tmp_path / "train.jsonl", tmp_path / "weak.jsonl"
    base = [{"id": f"t{i}", "title": "", "text": t, "date": None, "brief": "", "labels": l, "primary": l[0]} for i, (t, l) in enumerate(
        [("missile fired", ["provocation"]), ("talks held", ["diplomacy"]), ("general defected", ["elite_defection"])] * 4)]
    train.write_text("".join(json.dumps(r) + "\n" for r in base), encoding="utf-8")
    weak.write_text("".join(json.dumps(dict(r, id=f"w{i}", labels=["diplomacy"], primary="diplomacy")) + "\n"
                            for i, r in enumerate(base[:3])), encoding="utf-8")
    rows = training_rows([train], [weak], 0.25)
    assert len(rows) == 15 and [r.get("weight", 1.0) for r in rows[-3:]] == [0.25] * 3
    light = TfidfBaseline().fit(rows, base)._proba([{"title": "", "text": "missile fired"}])[0]
    heavy = TfidfBaseline().fit(training_rows([train], [weak], 4.0), base)._proba([{"title": "", "text": "missile fired"}])[0]
    assert heavy[2] > light[2]  # the weak "diplomacy" copies count more at a higher weight
    assert len(training_rows([train], [""])) == 12  # --weak '' means none
    news = [{"id": f"n{i}", "title": "", "text": "missile fired", "labels": [], "known_labels": ["elite_defection"],
             "weight": 1.0} for i in range(20)]  # --news-negatives records: negatives for elite_defection only
    query = [{"title": "", "text": "missile fired"}]
    masked = TfidfBaseline().fit(base + news, base)._proba(query)[0]
    unmasked = TfidfBaseline().fit(base + [{k: v for k, v in r.items() if k != "known_labels"} for r in news], base)._proba(query)[0]
    alone = TfidfBaseline().fit(base, base)._proba(query)[0]
    assert masked[1] == pytest.approx(alone[1])  # provocation fitted as if the news records were absent
    assert unmasked[1] < alone[1] - 0.2  # unmasked: 20 false negatives
    assert masked[0] < alone[0]  # elite_defection still learns from them
    with pytest.raises(FileNotFoundError, match=f"weak_labels.py --shared ../shared/data --out {tmp_path / 'missing.jsonl'}"):
        training_rows([train], [tmp_path / "missing.jsonl"])
    monkeypatch.chdir(tmp_path)  # no data/weak/ here: the shipped model's weak labels are missing, with their own command
    with pytest.raises(FileNotFoundError, match="--per-source 100 --news-negatives 600 --out data/weak/weak_news.jsonl"):
        training_rows([train], ["data/weak/weak_news.jsonl"])


@pytest.mark.parametrize("title", ["Envoys meet again in a long and wordy headline about talks", None])
def test_first_window_text_is_what_the_first_window_reads(tiny_classifier, title):
    from evaluate_classifier import first_window_text

    text = " ".join(f"talks{k % 7} resumed in geneva on day {k}." for k in range(60))
    cut = first_window_text(tiny_classifier, text, title)
    whole, alone = tiny_classifier.windows(text, title), tiny_classifier.windows(cut, title)
    assert len(whole.input_ids) > 1 and len(cut) < len(text) and text.startswith(cut)
    assert alone.input_ids == whole.input_ids[:1]  # the cut article is exactly the first window
    assert first_window_text(tiny_classifier, "A short one.", title) == "A short one."


def test_long_article_comparison_reports_plain_truncation(tiny_classifier, monkeypatch):
    import evaluate_classifier

    rows = [{"id": str(k), "title": "T", "text": "missiles were fired near the border today. " * 90, "labels": ["provocation"],
             "primary": "provocation"} for k in range(2)] + [{"id": "s", "title": "S", "text": "A short one.", "labels": [], "primary": "none"}]
    cut = []
    real = evaluate_classifier.first_window_text

    def spy(clf, text, title):
        cut.append(real(clf, text, title))
        return cut[-1]

    monkeypatch.setattr(evaluate_classifier, "first_window_text", spy)
    la = evaluate_classifier.long_article_comparison(tiny_classifier, rows, evaluate_classifier.predict_all(tiny_classifier, rows))
    assert la["n"] == 2 and len(cut) == 2 and all(len(c) < len(rows[0]["text"]) for c in cut)  # the long rows, cut
    assert all(0 <= v <= 1 for k, v in la.items() if k != "n")
    assert {"macro_f1_chunked", "macro_f1_first_window_only", "macro_f1_plain_truncation",
            "primary_accuracy_chunked", "primary_accuracy_plain_truncation"} <= set(la)
