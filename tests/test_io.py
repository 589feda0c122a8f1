from __future__ import annotations

import builtins
import json
import os
from pathlib import Path

import pytest

from defsum.io import ReadOptions, RecordWriter, decode_bytes, looks_english, read_articles, split_title

ARTICLE = (
    "Envoys of the two governments met in Geneva on Tuesday to discuss a prisoner exchange.\n\n"
    "The talks, the third round this year, ended without a joint statement."
)


def make_bad_folder(root: Path) -> dict[str, int]:
    """Write one file of every awkward kind; returns the records each should give."""
    root.mkdir()
    expect = {}

    def put(name: str, data: bytes | str, n: int = 1) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        expect[name] = n

    put("good.txt", "Talks in Geneva\n\n" + ARTICLE)
    put("notes.md", "# Summit report\n\n" + ARTICLE)
    put("page.html", f"<html><head><title>Geneva talks</title></head><body><article><h1>Geneva talks</h1><p>{ARTICLE}</p><p>{ARTICLE}</p></article></body></html>")
    put("one.json", json.dumps({"id": "j1", "title": "T", "text": ARTICLE}))
    put("many.json", json.dumps([{"text": ARTICLE}, {"text": ARTICLE + " Again."}]), 2)
    put("lines.jsonl", "\n".join([json.dumps({"id": "a", "text": ARTICLE}), "{not json", json.dumps({"body": "x"}), "", json.dumps({"id": "d", "text": ARTICLE})]), 4)
    put("empty.txt", b"")
    put("blank.txt", b"  \n\t \n")
    put("binary.txt", bytes(range(256)) * 20)
    put("latin1.txt", ("Caf\xe9 talks\n\n" + ARTICLE + " The minister's se\xf1or\xeda").encode("latin-1"))
    put("cp1252.txt", ("\u201cTalks\u201d resume\n\n" + ARTICLE + " \u2014 said the envoy.").encode("cp1252"))
    put("utf16.txt", ("Talks\n\n" + ARTICLE).encode("utf-16"))
    put("huge.txt", ("Big\n\n" + ARTICLE + "\n\n") * 30000)
    put("broken.html", "<html><body><div><p>Unclosed <b>bold " + ARTICLE + "<div></span></html")
    put("nothing.html", "<html><body><script>var x = 1;</script></body></html>")
    put("bad.json", '{"text": "unterminated')
    put("nested/deeper/deep.txt", ARTICLE)
    put("korean.txt", "북한이 탄도미사일을 발사했다고 합동참모본부가 밝혔다. 이번 발사는 올해 들어 세 번째이다.")
    os.symlink(root / "nested", root / "nested" / "deeper" / "loop")  # a loop: not followed by default
    expect["nested/deeper/loop"] = 1
    outside = root.parent / "outside.txt"
    outside.write_text(ARTICLE)
    os.symlink(outside, root / "outside_link.txt")
    expect["outside_link.txt"] = 1
    (root / "ignored.png").write_bytes(b"\x89PNG")  # not an article suffix: ignored
    return expect


def test_every_bad_kind_gives_one_record_per_article(tmp_path):
    expect = make_bad_folder(tmp_path / "in")
    arts = list(read_articles([tmp_path / "in"], ReadOptions(max_bytes=1_000_000)))
    got: dict[str, int] = {}
    for a in arts:
        name = str(Path(a.path).relative_to(tmp_path / "in"))
        got[name] = got.get(name, 0) + 1
    assert got == expect
    by = {str(Path(a.path).relative_to(tmp_path / "in")) + (f"#{a.id}" if a.path.endswith(".jsonl") else ""): a for a in arts}
    assert by["empty.txt"].error == "empty file"
    assert by["blank.txt"].error == "empty file"
    assert "binary" in by["binary.txt"].error
    assert by["latin1.txt"].error is None and "Café" in by["latin1.txt"].title
    assert by["cp1252.txt"].error is None and by["cp1252.txt"].title == "\u201cTalks\u201d resume"
    assert by["utf16.txt"].encoding == "utf-16" and by["utf16.txt"].title == "Talks"
    assert by["huge.txt"].error is None and "truncated_input" in by["huge.txt"].flags
    assert "invalid JSON" in by["bad.json"].error
    assert by["nothing.html"].error == "no main text found in the HTML"
    assert by["page.html"].title == "Geneva talks" and "Geneva on Tuesday" in by["page.html"].text
    assert by["notes.md"].title == "Summit report"
    assert "not followed" in by["nested/deeper/loop"].error
    assert "not followed" in by["outside_link.txt"].error
    assert "non_english" in by["korean.txt"].flags and by["korean.txt"].error is None
    lines = [a for a in arts if a.path.endswith("lines.jsonl")]
    assert [a.id for a in lines] == ["a", "lines:2", "lines:3", "d"]
    assert lines[0].error is None and lines[3].error is None
    assert "line 2: invalid JSON" in lines[1].error
    assert "'text'" in lines[2].error and "--text-field" in lines[2].error


def test_oversize_error_policy(tmp_path):
    (tmp_path / "big.txt").write_text("x " * 1000)
    [a] = read_articles([tmp_path], ReadOptions(max_bytes=100, oversize="error"))
    assert "larger than the limit of 100 bytes" in a.error


def test_followed_symlink_loop_terminates(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text(ARTICLE)
    os.symlink(tmp_path / "a", tmp_path / "a" / "again")
    arts = list(read_articles([tmp_path], ReadOptions(follow_symlinks=True)))
    assert [a.error for a in arts if a.path.endswith("x.txt")] == [None]
    assert any("loop" in (a.error or "") for a in arts)


def test_self_link_and_missing_path(tmp_path):
    os.symlink(tmp_path / "me.txt", tmp_path / "me.txt")
    arts = list(read_articles([tmp_path, tmp_path / "missing"]))
    assert [a.error for a in arts] == ["broken or looping symbolic link", "no such file or folder"]


def test_unreadable_file_gives_error_record(tmp_path, monkeypatch):
    (tmp_path / "secret.txt").write_text(ARTICLE)
    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file).endswith("secret.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    [a] = read_articles([tmp_path])
    assert a.error == "cannot read file: Permission denied"


def test_json_field_names_are_configurable(tmp_path):
    (tmp_path / "x.jsonl").write_text(json.dumps({"uid": "7", "headline": "H", "body": ARTICLE}) + "\n")
    [a] = read_articles([tmp_path], ReadOptions(text_field="body", title_field="headline", id_field="uid"))
    assert (a.id, a.title, a.error) == ("7", "H", None)


def test_decode_and_helpers():
    assert decode_bytes("Ünïcode".encode("utf-8")) == ("Ünïcode", "utf-8")
    assert decode_bytes(b"\xff\xfeT\x00a\x00")[1] == "utf-16"
    assert split_title("One line only.") == (None, "One line only.")
    assert not looks_english("Der Minister sagte, dass die Gespräche in Genf fortgesetzt werden.")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_writer_resume_drops_torn_line(tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    rec = {"path": "a.txt", "id": "a", "title": "T", "labels": ["diplomacy"], "scores": {"diplomacy": 0.9},
           "primary": "diplomacy", "summary": "S.", "error": None, "flags": [], "encoding": "utf-8", "content_hash": "h1"}
    with RecordWriter(out) as w:
        w.write([rec])
    with open(out, "a", encoding="utf-8") as fh:
        fh.write('{"path": "b.txt", "id": "b", "tit' if fmt == "jsonl" else 'b.txt,b,"T')
    w = RecordWriter(out, resume=True)
    assert w.done == {"a.txt\ta\th1"}
    w.write([dict(rec, path="b.txt", id="b", content_hash="h2")])
    w.close()
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("b.txt") == 1
    if fmt == "jsonl":
        assert [json.loads(line)["id"] for line in text.splitlines()] == ["a", "b"]


def test_short_cp1252_text_is_not_taken_for_utf16():
    from defsum.io import decode_bytes

    assert decode_bytes("café".encode("latin-1")) == ("café", "cp1252")
    assert decode_bytes("Seoul said the talks resumed.".encode("utf-16"))[0] == "Seoul said the talks resumed."
