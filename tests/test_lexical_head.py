"""The lexical head (TF-IDF + logistic regression mixed into the classifier's probabilities)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from defsum import EventClassifier, ModelLoadError
from defsum.labels import LABELS
from defsum.lexical_head import FILENAME, LexicalHead

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["North Korea fired two ballistic missiles into the sea.", "The foreign ministers held talks in Geneva.",
         "A diplomat defected to the South with his family.", "Artillery shells landed near the border island.",
         "The envoys signed an agreement on trade.", "An army officer crossed the border and asked for asylum."]
Y = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])


def test_probabilities_are_scikit_learns_tfidf_logistic_regression_after_a_round_trip(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    head = LexicalHead.fit(TEXTS, [None] * 6, Y, LABELS, weight=0.4, min_df=1)
    head.save(tmp_path)
    again = LexicalHead.load(tmp_path)
    assert again is not None and again.weight == 0.4 and again.labels == list(LABELS) and again.temperature == 1.0
    docs = [f"\n{t}" for t in TEXTS]
    x = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(docs)
    want = np.stack([LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000).fit(x, Y[:, j]).predict_proba(x)[:, 1]
                     for j in range(3)], axis=1)
    assert np.allclose(again.probabilities(TEXTS), want, atol=1e-5)
    assert np.allclose(again.mix(np.full((6, 3), 0.5), TEXTS), 0.6 * 0.5 + 0.4 * want, atol=1e-5)
    from defsum.metrics import apply_temperature

    head.temperature = 0.5  # the mix's own temperature survives a round trip and rescales the mix
    head.save(tmp_path)
    hot = LexicalHead.load(tmp_path)
    assert hot.temperature == 0.5
    assert np.allclose(hot.mix(np.full((6, 3), 0.5), TEXTS), apply_temperature(0.6 * 0.5 + 0.4 * want, 0.5), atol=1e-5)


def test_unknown_labels_are_left_out_of_the_fit():
    extra = TEXTS + ["A minister defected, then missiles flew."]
    y = np.vstack([Y, [[1, 0, 0]]])  # its provocation and diplomacy are unknown, not negatives
    known = np.ones(y.shape, dtype=bool)
    known[-1, 1:] = False
    masked = LexicalHead.fit(extra, [None] * 7, y, LABELS, weight=1.0, known=known, min_df=1)
    as_negative = LexicalHead.fit(extra, [None] * 7, y, LABELS, weight=1.0, min_df=1)
    p_masked, p_negative = masked.probabilities(extra[-1:])[0], as_negative.probabilities(extra[-1:])[0]
    assert p_masked[1] > p_negative[1]  # counted as a provocation negative, it pulls its own score down
    with pytest.raises(ValueError, match="positive and negative records of 'elite_defection'"):
        LexicalHead.fit(TEXTS, [None] * 6, np.zeros((6, 3), dtype=int), LABELS, weight=0.5, min_df=1)
    with pytest.raises(ValueError, match=r"weight must be in \[0, 1\]"):
        LexicalHead.fit(TEXTS, [None] * 6, Y, LABELS, weight=1.5, min_df=1)


def test_classifier_mixes_saves_and_drops_the_head(tiny_classifier_dir, tmp_path):
    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    assert clf.lexical_head is None
    plain, raw = clf.predict_proba(TEXTS), clf.predict_proba(TEXTS, calibrated=False)
    clf.lexical_head = LexicalHead.fit(TEXTS, [None] * 6, Y, LABELS, weight=0.3, min_df=1)
    lexical = clf.lexical_head.probabilities(TEXTS)
    assert np.allclose(clf.predict_proba(TEXTS), 0.7 * plain + 0.3 * lexical, atol=1e-5)
    assert np.allclose(clf.predict_proba(TEXTS, calibrated=False), raw, atol=1e-6)  # the transformer alone
    clf.save_pretrained(tmp_path / "m")
    again = EventClassifier.from_pretrained(tmp_path / "m")
    assert again.lexical_head is not None and again.lexical_head.weight == 0.3
    preds = again.predict(TEXTS)
    mixed = again.predict_proba(TEXTS)
    assert np.allclose(mixed, 0.7 * plain + 0.3 * lexical, atol=1e-5)
    for pred, p in zip(preds, mixed):
        assert pred.labels == [l for l, v, t in zip(again.labels, p, again.thresholds) if v >= t]
    again.lexical_head = None
    again.save_pretrained(tmp_path / "m")  # a stale head would be loaded with weights it was not tuned for
    assert not (tmp_path / "m" / FILENAME).exists()


def test_a_head_for_other_labels_is_a_clear_error(tiny_classifier_dir, tmp_path):
    import shutil

    shutil.copytree(tiny_classifier_dir, tmp_path / "m")
    LexicalHead.fit(TEXTS, [None] * 6, Y[:, :2], ["provocation", "diplomacy"], weight=0.5, min_df=1).save(tmp_path / "m")
    with pytest.raises(ModelLoadError, match=f"{FILENAME}: labels"):
        EventClassifier.from_pretrained(tmp_path / "m")


def test_calibrate_only_fits_the_head_and_tunes_thresholds_on_the_mix(tiny_classifier_dir, tmp_path):
    rows = [json.loads(line) for line in (ROOT / "data/corpus/train.jsonl").read_text().splitlines()][:40]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:30]))
    (tmp_path / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[30:]))
    script = [sys.executable, str(ROOT / "training/train_classifier.py"), "--calibrate-only", str(tiny_classifier_dir),
              "--train", str(tmp_path / "train.jsonl"), "--validation", str(tmp_path / "val.jsonl"), "--test", "",
              "--output", str(tmp_path / "out")]
    bad = subprocess.run([*script, "--lexical-weight", "1.5"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "--lexical-weight must be in [0, 1]" in bad.stderr
    done = subprocess.run([*script, "--lexical-weight", "0.6"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    clf = EventClassifier.from_pretrained(tmp_path / "out", precision="fp32")  # the arithmetic calibration used
    assert clf.lexical_head is not None and clf.lexical_head.weight == 0.6
    report = json.loads((tmp_path / "out" / "training_report.json").read_text())
    assert report["calibration"]["lexical_weight"] == 0.6
    from defsum.metrics import apply_temperature, tune_thresholds

    val = rows[30:]
    probs = clf.predict_proba([r["text"] for r in val], titles=[r["title"] or None for r in val])
    t = clf.lexical_head.temperature
    assert t == report["calibration"]["lexical_temperature"] or abs(t - report["calibration"]["lexical_temperature"]) < 1e-4
    mix = apply_temperature(probs, 1 / t)  # the mix before its own temperature
    y = np.array([[int(l in r["labels"]) for l in LABELS] for r in val])
    tuned = tune_thresholds(y, mix)  # thresholds are tuned on the mix, then mapped through the temperature
    assert np.allclose(clf.thresholds, apply_temperature(tuned, t), atol=1e-6)
    from defsum.metrics import fit_temperature

    assert fit_temperature(y, mix) == t  # the mix's temperature is fitted on validation
    # --calibrate-only without --lexical-weight keeps a folder's head; --lexical-weight 0 removes it
    again = [*script[:3], str(tmp_path / "out"), *script[4:-1], str(tmp_path / "again")]
    assert subprocess.run(again, capture_output=True, text=True, cwd=ROOT, timeout=300).returncode == 0
    kept = EventClassifier.from_pretrained(tmp_path / "again", precision="fp32").lexical_head
    assert kept is not None and kept.weight == 0.6 and kept.vocabulary == clf.lexical_head.vocabulary
    assert subprocess.run([*again, "--lexical-weight", "0"], capture_output=True, text=True, cwd=ROOT, timeout=300).returncode == 0
    assert not (tmp_path / "again" / FILENAME).exists()
    assert "lexical_files" not in json.loads((tmp_path / "again" / "training_report.json").read_text())


def test_the_evaluation_mixes_as_predict_does(tiny_classifier_dir):
    sys.path.insert(0, str(ROOT / "eval"))
    from evaluate_classifier import predict_all

    clf = EventClassifier.from_pretrained(tiny_classifier_dir)
    clf.lexical_head = LexicalHead.fit(TEXTS, [None] * 6, Y, LABELS, weight=0.3, min_df=1)
    clf.lexical_head.temperature = 0.7
    rows = [{"text": t, "title": None, "labels": [], "primary": "none"} for t in TEXTS]
    out = predict_all(clf, rows)
    assert np.allclose(out["probs"], clf.predict_proba(TEXTS), atol=1e-5)
    assert [p.labels for p in out["preds"]] == [p.labels for p in clf.predict(TEXTS)]
