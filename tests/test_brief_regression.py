"""eval/brief_regression.py: dumps of briefs compare equal when nothing moved, and name what did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import brief_regression  # noqa: E402

ARTICLE = ("North Korea fired two ballistic missiles into the sea off its east coast on Monday, South Korea's "
           "military said. The launches were the third this month. Japan protested through diplomatic channels.")


def test_dumps_compare_equal_and_changes_are_named(tmp_path: Path, tiny_summarizer_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"id": f"a{i}", "document": f"{ARTICLE} Item {i}.", "summary": "Missiles."}) + "\n"
                             for i in range(3)))
    spec = f"{pairs},name=toy"
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    args = ["--model", str(tiny_summarizer_path), "--data", spec, "--threads", "1"]
    assert brief_regression.main([*args, "--out", str(before)]) == 0
    assert brief_regression.main([*args, "--out", str(after), "--compare", str(before)]) == 0
    dump = json.loads(before.read_text())
    assert dump["toy"]["ids"] == ["a0", "a1", "a2"] and len(dump["toy"]["sentences"][0]) == 4
    moved = json.loads(after.read_text())
    moved["toy"]["briefs"][1] = "Something else."
    lines = brief_regression.compare(dump, moved)
    assert lines[0] == "toy: 1 of 3 briefs changed, 0 sentence lists changed" and lines[1] == "  a1"
    moved["toy"]["ids"] = ["a0", "a1", "b2"]
    assert "not comparable" in brief_regression.compare(dump, moved)[0]


def test_pair_specs_read_tables_too(tmp_path: Path) -> None:
    """Every script that takes --data pair specs (evaluation, ranker fitting, calibration) reads a
    CSV export like JSONL."""
    from defsum.data import parse_pair_spec, read_pair_spec

    table = tmp_path / "pairs.csv"
    table.write_text('id,document,summary\n7,"An article, with a comma.",A brief.\n8,,No text.\n')
    rows = read_pair_spec(parse_pair_spec(f"{table},name=toy"), skip_empty=True)
    assert rows == [{"id": "7", "text": "An article, with a comma.", "title": None, "reference": "A brief."}]
