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


def test_copies_of_held_out_items_under_other_ids_are_dropped(monkeypatch: pytest.MonkeyPatch):
    import weak_labels

    ids = [f"cns-{i}" for i in range(40)]
    kept_id = next(i for i in ids if held_out(i))  # a held-out entry ...
    other = [i for i in ids if not held_out(i)][:3]
    salvo = "North Korea launched a short-range ballistic missile from Sunan toward the East Sea on the same morning."
    rows = [{"id": kept_id, "text": salvo}, {"id": other[0], "text": salvo},  # ... and its copy under another id
            {"id": other[1], "text": "A new cruise missile was tested over the Yellow Sea in the afternoon, KCNA said."},
            {"id": other[2], "text": salvo.replace("the same morning", "the same morning, the second of two")}]
    monkeypatch.setattr(weak_labels, "SOURCES", {"cns": lambda shared: iter(rows)})
    monkeypatch.setattr(weak_labels, "hand_labelled_ids", lambda: set())
    monkeypatch.setattr(weak_labels, "hand_labelled_texts", lambda shared: [])
    got = {r["id"] for r in build(Path("unused"), {"cns": 10})}
    assert got == {other[1]}
    assert {r["id"] for r in build(Path("unused"), {"cns": 10}, drop_copies=False)} == set(other)
    # a hand-labelled item the source's rules never yield is protected from its copies too
    labelled = {"id": "kcna-9", "text": rows[2]["text"]}
    monkeypatch.setattr(weak_labels, "hand_labelled_texts", lambda shared: [labelled])
    assert {r["id"] for r in build(Path("unused"), {"cns": 10})} == set()


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_no_weak_record_copies_a_hand_labelled_item():
    from defsum.data import near_copies

    from weak_labels import hand_labelled_texts

    weak = build(SHARED, {"csis": 100, "cns": 100, "kcna": 100, "cameo": 100, "bbc": 100})
    assert not near_copies(hand_labelled_texts(SHARED), weak)
