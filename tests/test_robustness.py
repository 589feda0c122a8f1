"""Arbitrary text never crashes the text API: a result, or a ValueError that says what was wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from defsum import Analyzer, EventClassifier, Summarizer
from defsum.checks import has_visible_text
from defsum.cli import EXIT_OK, main

ROOT = Path(__file__).resolve().parents[1]
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=2000),
    st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2028\u3000"), max_size=50),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), max_size=100),
    st.builds(lambda w, n: (w + " ") * n, st.text(min_size=1, max_size=12), st.integers(1, 600)),
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def analyzer(tiny_classifier_dir, tiny_summarizer_path) -> Analyzer:
    return Analyzer(EventClassifier.from_pretrained(tiny_classifier_dir), Summarizer.from_pretrained(tiny_summarizer_path))


@SETTINGS
@given(text=texts)
@example(text="\x1b")
@example(text="\u200b\u200d")
def test_classifier_any_text(tiny_classifier, text):
    try:
        pred = tiny_classifier.predict(text)
    except ValueError as err:
        assert not has_visible_text(text) and "empty" in str(err)
        return
    assert has_visible_text(text)
    assert set(pred.scores) == set(tiny_classifier.labels)


@SETTINGS
@given(text=texts, title=st.one_of(st.none(), st.text(max_size=80)))
def test_analyzer_any_text(analyzer, text, title):
    try:
        brief = analyzer.analyze(text, titles=title)
    except ValueError as err:
        assert "empty" in str(err) or "nothing" in str(err), str(err)
        return
    assert isinstance(brief.summary, str)
    assert brief.primary in (*analyzer.classifier.labels, "none")


def test_analyzer_drops_web_page_furniture_as_the_cli_does(analyzer):
    body = "Seoul said on Tuesday that a North Korean diplomat had defected with his family."
    scraped = f"Click here to follow us on Instagram\n{body}\nSubscribe to our newsletter for updates"
    got = analyzer.analyze(scraped, titles="Advertisement")
    plain = analyzer.analyze(body)
    assert got.title is None and "boilerplate_removed" in got.flags
    assert (got.scores, got.summary) == (plain.scores, plain.summary)
    assert "boilerplate_removed" not in plain.flags
    raw = analyzer.analyze(scraped, titles="Advertisement", drop_furniture=False)
    assert raw.title == "Advertisement" and raw.scores != plain.scores and not raw.flags
    # a text of furniture alone is scored as it is (nothing else would be left)
    assert not analyzer.analyze("Click here to follow us on Instagram").flags


def test_cli_full_pipeline_on_examples(tmp_path, tiny_classifier_dir, tiny_summarizer_path):
    out = tmp_path / "briefs.jsonl"
    code = main(["score", str(ROOT / "examples" / "articles"), "-o", str(out), "-q",
                 "--classifier", str(tiny_classifier_dir), "--summarizer", str(tiny_summarizer_path)])
    assert code == EXIT_OK
    records = [json.loads(line) for line in out.read_text().splitlines()]
    expected = [json.loads(line) for line in (ROOT / "examples" / "expected.jsonl").read_text().splitlines()]
    assert len(records) == len(expected)
    assert all(r["error"] is None and isinstance(r["summary"], str) for r in records)
    assert any("chunked" in r["flags"] for r in records)  # the long HTML pages


def test_analyzer_flags_text_not_in_english_as_the_cli_does(analyzer):
    korean = "북한이 수요일 동해상으로 탄도미사일 한 발을 발사했다. 일본 정부는 미사일이 수역 밖에 떨어졌다고 말했다."
    got = analyzer.analyze([korean, "Seoul said on Tuesday that a North Korean diplomat had defected with his family."])
    assert "non_english" in got[0].flags and "non_english" not in got[1].flags
    assert got[0].summary == "북한이 수요일 동해상으로 탄도미사일 한 발을 발사했다."
