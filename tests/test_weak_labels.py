"""Weak labels never include items of the hand-labelled real-text sets (test or validation)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "training"))
from weak_labels import build, hand_labelled_ids, held_out  # noqa: E402


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_weak_labels_leave_out_every_hand_labelled_item():
    excluded = hand_labelled_ids()
    assert len(excluded) > 200  # the real-text test set and the validation set
    ids = {r["id"] for r in build(SHARED, {"csis": 10**6, "cns": 10**6, "kcna": 10**6, "cameo": 10**6, "bbc": 10**6})}
    assert ids and not ids & excluded
    assert not any(held_out(i) for i in ids)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_news_negatives_speak_for_elite_defection_only():
    assert not any("known_labels" in r for r in build(SHARED, {"bbc": 50}))  # only when asked for
    news = build(SHARED, {"csis": 0, "cns": 0, "kcna": 0, "cameo": 0, "bbc": 0, "news": 10**6})
    assert len(news) > 1000
    assert all(r["known_labels"] == ["elite_defection"] and r["labels"] == [] and r["primary"] == "none" for r in news)
    assert not any("defect" in r["text"].lower() for r in news)
    assert {r["source_style"] for r in news} == {"weak:xsum", "weak:inshorts", "weak:cnndm"}
    assert not {r["id"] for r in news} & hand_labelled_ids() and not any(held_out(r["id"]) for r in news)
