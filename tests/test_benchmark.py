"""The benchmark's token counts and per-token ratios."""

from __future__ import annotations

import sys
from pathlib import Path

from defsum import EventClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from benchmark import agreement, alone_vs_batched, per_token_ratio, token_counts, with_torch_int8_layers  # noqa: E402


def test_token_counts_show_the_extra_work_of_reading_whole_articles(tiny_classifier_dir: Path) -> None:
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")  # 64-token windows, 16 overlap
    clf.tokenizer.model_max_length = 100  # the pipeline's cut, independent of defsum's window size
    texts, titles = ["Talks resumed.", "Talks resumed in Geneva on Monday after a year. " * 20], ["Geneva", "Geneva"]
    joined = [f"{h}\n\n{t}" for h, t in zip(titles, texts)]
    got = token_counts(clf, joined, texts, titles)
    short, full = (len(clf.tokenizer(j)["input_ids"]) for j in joined)
    assert full > 200
    assert got["pipeline"] == short + 100  # the long article cut where the pipeline cuts it
    assert got["first_window"] == short + 1 + 64  # title and text as a pair: one more [SEP]
    # every window of the long article: all of its tokens, plus a title and 16 overlapping tokens per extra window
    assert got["windows"] - (short + 1) > full + 16
    clf.config["aggregation"] = "first"  # such a model scores first windows only
    assert token_counts(clf, joined, texts, titles)["windows"] == got["first_window"]


def test_per_token_ratio_credits_the_extra_tokens() -> None:
    assert per_token_ratio(10.0, 10.0, 100, 100) == 1.0
    assert per_token_ratio(10.0, 5.0, 100, 100) == 2.0
    assert per_token_ratio(10.0, 10.0, 124, 100) == 1.24  # as fast per article on 24% more tokens


def test_memory_is_measured_per_system_in_its_own_process(tiny_classifier_dir: Path) -> None:
    from benchmark import memory_of, rss_mb

    ballast = bytearray(300 << 20)  # this process holds 300 MB more than any child needs
    ballast[:: 4096] = b"\x01" * len(ballast[:: 4096])
    name = "defsum fp32 (windows, length-sorted)"
    argv = ["--data", "data/corpus/test.jsonl", "--n", "3", "--classifier", str(tiny_classifier_dir)]
    got = memory_of("classify", [name], argv)[name]
    assert 0 < got["rss_loaded_mb"] <= got["peak_rss_mb"]
    # a child's getrusage peak starts at its parent's size; the reported peak must be the child's own
    assert got["peak_rss_mb"] < rss_mb() - 200
    del ballast


def test_alone_vs_batched_counts_what_batching_changes(tiny_classifier_dir: Path) -> None:
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    texts = ["Talks resumed in Geneva on Monday after a year. " * 20, "A colonel crossed the border.", "Rockets fell."]
    titles = ["Geneva", "Border", "Rockets"]
    batched = clf.predict(texts, titles=titles)
    same = alone_vs_batched(clf, texts, titles, batched)
    assert same["articles_with_other_labels_or_primary"] == 0 and same["max_probability_change"] < 1e-3
    flipped = [type(p)(**{**p.__dict__, "labels": ["diplomacy"] if p.labels != ["diplomacy"] else []}) for p in batched[:1]] + batched[1:]
    assert alone_vs_batched(clf, texts, titles, flipped)["articles_with_other_labels_or_primary"] == 1


def test_int8_rows_compare_defsum_layers_with_torch_layers(tiny_classifier_dir: Path) -> None:
    import pytest
    import torch

    from defsum.precision import FullRangeDynamicLinear, _x86_int8, int8_full_range

    if not (_x86_int8() and int8_full_range()):
        pytest.skip("this CPU keeps torch's int8 layers, so the benchmark has no row comparing them")
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="int8")
    layers = [m for m in clf.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert layers and all(type(m) is FullRangeDynamicLinear for m in layers)
    texts = ["Talks resumed in Geneva on Monday after a year. " * 20, "A colonel crossed the border."]
    ours_probs = clf.predict_proba(texts)
    with_torch_int8_layers(clf)
    assert all(type(m) is torch.ao.nn.quantized.dynamic.Linear for m in layers)
    assert abs(clf.predict_proba(texts) - ours_probs).max() > 0  # other arithmetic, other scores


def test_agreement_counts_articles_whose_results_differ(tiny_classifier_dir: Path) -> None:
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")
    ours = clf.predict(["Talks resumed in Geneva on Monday after a year.", "A colonel crossed the border."])
    other = [type(p)(**{**p.__dict__, "primary": "none" if p.primary != "none" else "diplomacy"}) for p in ours[:1]]
    moved = type(ours[1])(**{**ours[1].__dict__, "scores": {**ours[1].scores, "provocation": ours[1].scores["provocation"] + 0.25}})
    got = agreement(other + [moved], ours, clf.labels)
    assert got["articles_with_other_labels_or_primary"] == 1
    assert abs(got["max_probability_change"] - 0.25) < 1e-4
