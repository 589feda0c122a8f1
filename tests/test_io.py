from __future__ import annotations

import builtins
import csv
import json
import os
from pathlib import Path

import pytest

from defsum.io import ReadOptions, RecordWriter, decode_bytes, looks_english, read_articles, record_key, split_title

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
    assert w.done == {record_key("a.txt", "a", "h1")}
    w.write([dict(rec, path="b.txt", id="b", content_hash="h2")])
    w.close()
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("b.txt") == 1
    if fmt == "jsonl":
        assert [json.loads(line)["id"] for line in text.splitlines()] == ["a", "b"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_writer_resume_counts_earlier_failures_not_skips(tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    rec = {"path": "a.txt", "id": "a", "title": "T", "labels": [], "scores": {}, "primary": None, "summary": None,
           "error": None, "flags": [], "encoding": "utf-8", "content_hash": "h1"}
    with RecordWriter(out) as w:
        w.write([rec, dict(rec, id="b", error="empty article"), dict(rec, id="c", error="skipped: symbolic link loop")])
    with RecordWriter(out, resume=True) as w:
        assert len(w.done) == 3 and w.failed_keys == {record_key("a.txt", "b", "h1")}


def test_short_cp1252_text_is_not_taken_for_utf16():
    from defsum.io import decode_bytes

    assert decode_bytes("café".encode("latin-1")) == ("café", "cp1252")
    assert decode_bytes("Seoul said the talks resumed.".encode("utf-16"))[0] == "Seoul said the talks resumed."


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_byte_order_mark_is_read(encoding):
    from defsum.io import decode_bytes

    text, name = decode_bytes(ARTICLE.encode(encoding))  # ASCII text in UTF-16 is valid UTF-8 with NUL bytes
    assert text == ARTICLE and name.startswith("utf_16")
    assert decode_bytes(b"abc\x00def" * 100)[0] is None  # NUL bytes in what is no UTF-16 text: still binary


# ---------------------------------------------------------------------- reviewed bugs
def test_undecodable_file_name_gives_an_escaped_path(tmp_path):
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "wb") as fh:
        fh.write(ARTICLE.encode())
    (tmp_path / "ok.txt").write_text(ARTICLE)
    arts = list(read_articles([tmp_path]))
    assert [Path(a.path).name for a in arts] == ["caf\\xe9.txt", "ok.txt"]
    assert arts[0].id == "caf\\xe9" and arts[0].error is None
    json.dumps(arts[0].path, ensure_ascii=False).encode("utf-8")  # writable as UTF-8


def test_excluded_path_is_not_read(tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    (tmp_path / "briefs.jsonl").write_text(json.dumps({"text": ARTICLE}) + "\n")
    arts = list(read_articles([tmp_path], ReadOptions(exclude=frozenset({os.path.realpath(tmp_path / "briefs.jsonl")}))))
    assert [Path(a.path).name for a in arts] == ["a.txt"]


def test_jsonl_splits_on_newline_only(tmp_path):
    lines = [json.dumps({"id": i, "title": f"A\u2028B {i}", "text": f"{ARTICLE}\u2029\x85{i}"}, ensure_ascii=False) for i in ("x", "y")]
    (tmp_path / "f.jsonl").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    arts = list(read_articles([tmp_path]))
    assert [(a.id, a.error) for a in arts] == [("x", None), ("y", None)]
    assert arts[1].text.endswith("\u2029\x85y")


def test_writer_resume_reads_records_holding_line_separators(tmp_path):
    out = tmp_path / "out.jsonl"
    with RecordWriter(out) as w:
        w.write([{"path": "a.txt", "id": "a", "title": "A\u2028B\x85C", "error": None, "content_hash": "h1"},
                 {"path": "b.txt", "id": "b", "title": "plain", "error": None, "content_hash": "h2"}])
    with RecordWriter(out, resume=True) as w:
        assert w.done == {record_key("a.txt", "a", "h1"), record_key("b.txt", "b", "h2")}


@pytest.mark.parametrize("suffix", [".txt", ".md"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_windows_line_endings_keep_the_title(tmp_path, suffix, encoding):
    title = "Déclaration du ministre" if suffix == ".txt" else "# Déclaration du ministre"
    (tmp_path / f"a{suffix}").write_bytes(f"{title}\r\n\r\n{ARTICLE}\r\nMore.\r\n".encode(encoding))
    [a] = read_articles([tmp_path])
    assert (a.title, a.error) == ("Déclaration du ministre", None)
    assert "\r" not in a.text and a.text.endswith("without a joint statement.\nMore.")


WESTERN = {
    "fr": "Le ministre a déclaré que les négociations reprendraient à Genève après l'incident à la frontière. "
          "L'armée a été placée en état d'alerte élevée ; « c'est très grave », a-t-il ajouté.",
    "es": "El ministro dijo que las conversaciones se reanudarían en Ginebra tras el incidente fronterizo. "
          "¿Qué pasará ahora? El ejército está en alerta máxima, señaló el portavoz.",
    "pt": "O ministro afirmou que as negociações serão retomadas em Genebra após o incidente na fronteira. "
          "O exército está em alerta máximo, disse o porta-voz, e a situação não é clara.",
    "de": "Der Minister sagte, dass die Gespräche nach dem Grenzzwischenfall in Genf fortgesetzt würden. "
          "Die Armee wurde in höchste Alarmbereitschaft versetzt, äußerte der Sprecher.",
    "fr_short": "Café à Zürich",
    "es_short": "Señor, ¿qué?",
    "pt_short": "Ação não é fácil",
    "de_short": "Grüße aus Köln",
    "quotes": "\u201cTalks\u201d resume \u2014 the envoy said \u2018no\u2019 to the deal\u2026 \u20ac5 million, \u00bdh later.",
}


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
@pytest.mark.parametrize("lang", sorted(WESTERN))
def test_western_european_legacy_text_is_not_misdetected(lang, encoding):
    text = WESTERN[lang]
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        pytest.skip(f"not representable in {encoding}")
    assert decode_bytes(data) == (text, "cp1252")


def test_latin1_only_bytes_fall_back_to_latin1():
    text = WESTERN["fr"] * 10 + "\x81"  # 0x81 is undefined in cp1252: a stray one in latin-1 text
    assert decode_bytes(text.encode("latin-1")) == (text, "latin-1")


@pytest.mark.parametrize("text, encoding", [
    ("Министр заявил, что переговоры возобновятся в Женеве после инцидента на границе.", "cp1251"),
    ("Министр заявил, что переговоры возобновятся в Женеве после инцидента на границе. Армия приведена в состояние "
     "повышенной готовности.", "koi8_r"),
    ("外交部发言人表示，两国将在日内瓦恢复谈判。军队已进入高度戒备状态。", "gbk"),
    ("外交部發言人表示，兩國將在日內瓦恢復談判。軍隊已進入高度戒備狀態。", "big5"),
    ("外務省の報道官は、両国がジュネーブで交渉を再開すると述べた。軍は高度な警戒態勢に入った。", "shift_jis"),
    ("북한이 탄도미사일을 발사했다고 합동참모본부가 밝혔다. 이번 발사는 올해 들어 세 번째이다.", "euc_kr"),
    ("Minister powiedział, że rozmowy zostaną wznowione w Genewie po incydencie na granicy. Wojsko jest w stanie gotowości.", "cp1250"),
    ("Bakan, sınırdaki olayın ardından görüşmelerin Cenevre'de yeniden başlayacağını söyledi. Ordu yüksek alarma geçirildi.", "cp1254"),
    ("Ο υπουργός δήλωσε ότι οι συνομιλίες θα συνεχιστούν στη Γενεύη μετά το επεισόδιο στα σύνορα.", "cp1253"),
])
def test_other_legacy_encodings_still_detected(text, encoding):
    assert decode_bytes(text.encode(encoding))[0] == text


def test_max_bytes_cut_inside_a_utf8_character(tmp_path):
    text = "Déclaration\n\n" + "Le ministre a déclaré que l'armée était prête. " * 20
    data = text.encode("utf-8")
    limit = data.index("é".encode(), 100) + 1  # cuts the two bytes of an é in half
    (tmp_path / "a.txt").write_bytes(data)
    [a] = read_articles([tmp_path], ReadOptions(max_bytes=limit))
    assert (a.encoding, a.error, a.title) == ("utf-8", None, "Déclaration")
    assert "truncated_input" in a.flags and text.startswith("Déclaration\n\n" + a.text)


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_max_bytes_odd_or_mid_pair_on_utf16(tmp_path, cut):
    text = "Talks\n\n" + ARTICLE + " \U0001F600" * 5
    data = text.encode("utf-16")
    limit = len(data) - cut  # 1 and 3: odd; 2: half of the last surrogate pair
    (tmp_path / "a.txt").write_bytes(data)
    [a] = read_articles([tmp_path], ReadOptions(max_bytes=limit))
    assert (a.encoding, a.error, a.title) == ("utf-16", None, "Talks")
    assert "truncated_input" in a.flags and a.text.endswith("\U0001F600")


def test_cut_json_says_to_raise_max_bytes(tmp_path):
    (tmp_path / "big.json").write_text(json.dumps([{"text": ARTICLE}] * 50))
    (tmp_path / "big.jsonl").write_text("\n".join(json.dumps({"text": ARTICLE}) for _ in range(50)))
    arts = list(read_articles([tmp_path], ReadOptions(max_bytes=1000)))
    [big_json] = [a for a in arts if a.path.endswith(".json")]
    assert "--max-bytes 1000" in big_json.error and "larger --max-bytes" in big_json.error
    lines = [a for a in arts if a.path.endswith(".jsonl")]
    assert len(lines) == 50 and all(a.error is None and not a.flags for a in lines)  # the limit is per line: all 50 read


def test_jsonl_limit_is_per_line(tmp_path):
    rows = [{"id": f"n{i}", "text": ARTICLE if i != 3 else ARTICLE * 20} for i in range(6)]
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(json.dumps(r).encode() for r in rows) + b"\n")
    arts = list(read_articles([tmp_path / "a.jsonl"], ReadOptions(max_bytes=len(json.dumps(rows[0])) + 10)))
    assert [a.id for a in arts] == ["n0", "n1", "n2", "a:4", "n4", "n5"]  # every line gets a record
    assert "line 4 is larger than the limit" in arts[3].error and "larger --max-bytes" in arts[3].error
    assert all(a.error is None for i, a in enumerate(arts) if i != 3)
    # each line is decoded on its own: a byte-order mark before a later line (files joined with cat) is read
    (tmp_path / "b.jsonl").write_bytes(json.dumps(rows[0]).encode() + b"\n\xef\xbb\xbf" + json.dumps(rows[1]).encode() + b"\n")
    assert [a.error for a in read_articles([tmp_path / "b.jsonl"])] == [None, None]
    # UTF-16 lines are split in UTF-16 code units, under the same limit per line (in bytes)
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-16")
    arts = list(read_articles([tmp_path / "c.jsonl"], ReadOptions(max_bytes=2 * len(json.dumps(rows[0])) + 20)))
    assert [a.id for a in arts] == ["n0", "n1", "n2", "c:4", "n4", "n5"] and "line 4 is larger than the limit" in arts[3].error


def test_dangling_link_with_other_suffix_is_ignored(tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    os.symlink(tmp_path / "gone.png", tmp_path / "x.png")
    os.symlink(tmp_path / "gone.txt", tmp_path / "y.txt")
    arts = list(read_articles([tmp_path]))
    assert [(Path(a.path).name, a.error) for a in arts] == [("a.txt", None), ("y.txt", "broken or looping symbolic link")]


def test_json_id_zero_is_kept(tmp_path):
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps({"id": i, "text": ARTICLE}) for i in (0, 1, "")) + "\n")
    assert [a.id for a in read_articles([tmp_path])] == ["0", "1", "f:3"]


def test_csv_writes_path_and_id_unchanged(tmp_path):
    out = tmp_path / "out.csv"
    with RecordWriter(out) as w:
        w.write([{"path": "in/two  spaces.txt", "id": "a  b\tc", "title": "T  x\ny", "error": None, "content_hash": "h"}])
    with RecordWriter(out, resume=True) as w:
        assert w.done == {record_key("in/two  spaces.txt", "a  b\tc", "h")}
    with out.open(encoding="utf-8", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["title"] == "T x y"


def test_writer_counts_error_records_as_done(tmp_path):
    out = tmp_path / "out.jsonl"
    with RecordWriter(out) as w:
        w.write([{"path": "e.txt", "id": "e", "error": "empty file", "content_hash": "h1"}])
    with RecordWriter(out, resume=True) as w:
        assert w.done == {record_key("e.txt", "e", "h1")}


def test_utf8_with_a_stray_latin1_byte():
    data = "Naïve title\n\n".encode() + ARTICLE.encode() + " café".encode("latin-1")
    assert decode_bytes(data) == ("Naïve title\n\n" + ARTICLE + " café", "utf-8+cp1252")


def test_boilerplate_lines_are_dropped_before_the_title_is_split(tmp_path):
    from defsum.io import drop_boilerplate, is_boilerplate

    (tmp_path / "a.txt").write_text(
        "Stay updated with the latest - Click here to follow us on Instagram\n\nTalks resume in Geneva\n\n"
        f"{ARTICLE}\nAdvertisement\nUsers were told to download the government's app to report damage.\n"
        "Sign up for our daily newsletter\n"
    )
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "b", "title": "Read more", "text": f"{ARTICLE}\nRELATED STORIES:"}) + "\n"
                                      + json.dumps({"id": "c", "title": "T", "text": "Advertisement\n\nRead more"}) + "\n")
    by = {a.id: a for a in read_articles([tmp_path])}
    assert by["a"].title == "Talks resume in Geneva" and "boilerplate_removed" in by["a"].flags
    assert by["a"].text.startswith(ARTICLE[:20]) and "Instagram" not in by["a"].text and "Advertisement" not in by["a"].text
    assert "newsletter" not in by["a"].text and "download the government's app" in by["a"].text  # news, not a prompt
    assert by["b"].title is None and by["b"].text == ARTICLE and by["b"].flags.count("boilerplate_removed") == 1
    assert "only web-page furniture" in by["c"].error
    news = [  # quoted, reported or plain news lines that use a prompt's words: all kept
        'Victims received a text saying "click here to pay your toll" before their accounts were emptied.',
        '"Click here to verify your account," the fake bank email read.',
        '"Download the Home Front Command app," the army told residents in the north on Tuesday.',
        "Sign up for emergency alerts, county officials urged residents as the fire spread.",
        "Subscribe to updates from the hurricane center, the governor said.",
        "Follow us on X, the militia wrote in a post claiming the attack.",
        "The ministry said residents should tap here for shelter locations.",
        "Click here to read the notice, the officials wrote in " + "a very long letter " * 8,  # over 25 words
    ]
    for line in news:
        assert not is_boilerplate(line), line
        assert drop_boilerplate(f"{ARTICLE}\n{line}\n{ARTICLE}") == (f"{ARTICLE}\n{line}\n{ARTICLE}", 0)
    run = f"{ARTICLE}\nRead more\nAdvertisement\nSign up for our daily newsletter\n{ARTICLE}"
    assert drop_boilerplate(run) == (f"{ARTICLE}\n{ARTICLE}", 3)  # a run of furniture goes together, in one pass
    wrapped = "Officials said the phishing message urged recipients to\nclick here to see the full list of\nwinners, a scam."
    assert drop_boilerplate(wrapped) == (wrapped, 0)  # a piece of a hard-wrapped sentence is never dropped
    long_title = "Drivers who click here to see a fine lose money " + "and so on " * 6  # 29 words
    (tmp_path / "d.txt").write_text(f"{long_title}\n\n{ARTICLE}")
    assert next(read_articles([tmp_path / "d.txt"])).title == long_title.strip()


def test_null_text_and_output_records_are_named(tmp_path):
    rows = [{"id": "a", "text": None}, {"id": "b", "body": ARTICLE},
            {"path": "x.txt", "id": "c", "scores": {}, "content_hash": "0f", "summary": "s"}]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    errors = [a.error for a in read_articles([tmp_path / "a.jsonl"])]
    assert "a null 'text' field" in errors[0] and "no 'text' field" in errors[1]
    assert "a defsum output record" in errors[2] and "keep output files out" in errors[2]


def test_jsonl_lines_take_the_file_encoding_and_odd_lines_are_handled(tmp_path):
    short, long = "Ким посетил Москву.", "Министр иностранных дел России встретился с послом Китая и обсудил торговлю."
    rows = [{"id": f"r{i}", "text": t} for i, t in enumerate([short, long, long, long])]
    (tmp_path / "ru.jsonl").write_bytes(b"\n".join(json.dumps(r, ensure_ascii=False).encode("cp1251") for r in rows) + b"\n")
    arts = list(read_articles([tmp_path / "ru.jsonl"]))
    assert arts[0].text == short and {a.encoding for a in arts} == {"cp1251"}  # a short line alone reads as cp1250
    # UTF-16 without a byte-order mark: split in its own code units
    (tmp_path / "u16.jsonl").write_bytes(("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:2]) + "\n").encode("utf-16-le"))
    assert [a.text for a in read_articles([tmp_path / "u16.jsonl"])] == [short, long]
    # the limit does not count the line end; a line of a byte-order mark or Unicode spaces only is blank
    one = json.dumps({"id": "x", "text": ARTICLE}).encode()
    (tmp_path / "crlf.jsonl").write_bytes(one + b"\r\n\xef\xbb\xbf\r\n" + "\u00a0\u3000".encode() + b"\n" + one.replace(b'"x"', b'"y"') + b"\r\n")
    assert [(a.id, a.error) for a in read_articles([tmp_path / "crlf.jsonl"], ReadOptions(max_bytes=len(one)))] == [("x", None), ("y", None)]


# ---------------------------------------------------------------------- reviewed bugs (CLI and io review)
def test_json_too_deep_or_with_a_huge_number_gets_its_own_record(tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "lines.jsonl").write_text("\n".join([
        "[" * 100_000 + "]" * 100_000, '{"id": ' + "9" * 5000 + ', "text": "x"}', json.dumps({"id": "ok", "text": ARTICLE})]) + "\n")
    (tmp_path / "z.txt").write_text(ARTICLE)
    by = {a.id: a for a in read_articles([tmp_path])}
    assert list(by) == ["a", "deep", "lines:1", "lines:2", "ok", "z"]
    assert by["deep"].error == "invalid JSON: lists or objects nested too deeply to read"
    assert by["lines:1"].error == "line 1: invalid JSON: lists or objects nested too deeply to read"
    assert by["lines:2"].error.startswith("line 2: invalid JSON: a value that cannot be read (Exceeds the limit (4300 digits)")
    assert [by[k].error for k in ("a", "ok", "z")] == [None, None, None]


def test_path_that_cannot_be_statted_gets_a_record_and_the_walk_goes_on(tmp_path, monkeypatch):
    (tmp_path / "in" / "locked").mkdir(parents=True)
    (tmp_path / "in" / "locked" / "q.txt").write_text(ARTICLE)
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    real_stat = os.stat

    def deny(path, *args, **kwargs):  # what a folder without search permission gives (EACCES)
        if str(path).endswith("q.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", deny)
    arts = list(read_articles([tmp_path / "in" / "locked" / "q.txt", tmp_path / "in"]))
    assert [(Path(a.path).name, a.error) for a in arts] == [("q.txt", "cannot read: Permission denied"), ("a.txt", None)]
    arts = list(read_articles([tmp_path / "in"]))  # found by the walk
    assert [(Path(a.path).name, a.error) for a in arts] == [("a.txt", None), ("q.txt", "cannot read: Permission denied")]


def test_an_unforeseen_error_in_one_file_gives_a_record(tmp_path, monkeypatch):
    import defsum.io

    (tmp_path / "a.txt").write_text(ARTICLE)
    (tmp_path / "b.html").write_text(f"<html><body><p>{ARTICLE}</p></body></html>")
    (tmp_path / "c.txt").write_text(ARTICLE)

    def broken(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(defsum.io, "_from_html", broken)
    arts = list(read_articles([tmp_path]))
    assert [(a.id, a.error) for a in arts] == [("a", None), ("b", "cannot read file: RuntimeError: parser bug"), ("c", None)]


def test_problems_named_twice_give_one_record(tmp_path):
    (tmp_path / "in").mkdir()
    os.symlink(tmp_path / "gone.txt", tmp_path / "in" / "broken.txt")
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    arts = list(read_articles([tmp_path / "in", f"{tmp_path / 'in'}/", tmp_path / "nope.txt", tmp_path / "nope.txt"]))
    assert [(Path(a.path).name, a.error) for a in arts] == [
        ("a.txt", None), ("broken.txt", "broken or looping symbolic link"), ("nope.txt", "no such file or folder")]


def test_file_removed_during_the_run_is_an_error_not_a_skip(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text(f"{ARTICLE} {name}")
    arts = []
    for a in read_articles([tmp_path]):
        arts.append(a)
        if a.id == "a":
            os.remove(tmp_path / "b.txt")  # listed already, not yet looked at
    assert [(a.id, a.error) for a in arts] == [("a", None), ("b", "no such file: removed during the run"), ("c", None)]


def test_hard_link_to_the_excluded_output_is_not_read(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"text": ARTICLE}) + "\n")
    os.link(out, tmp_path / "in" / "same.jsonl")
    arts = list(read_articles([tmp_path / "in"], ReadOptions(exclude=frozenset({os.path.realpath(out)}))))
    assert [a.id for a in arts] == ["a"]


CSV_RECORD = {"path": "a.txt", "id": "a", "title": "T", "error": None, "content_hash": "h"}


def test_csv_carriage_return_in_id_or_path_stays_in_one_row(tmp_path):
    out = tmp_path / "out.csv"
    recs = [dict(CSV_RECORD, path="in/p\rq.txt", id="f\rg"), dict(CSV_RECORD, id="a\nb"), dict(CSV_RECORD, id="c\r\nd")]
    with RecordWriter(out) as w:
        w.write(recs)
    with out.open(encoding="utf-8", newline="") as fh:
        assert [(r["path"], r["id"]) for r in csv.DictReader(fh)] == [(r["path"], r["id"]) for r in recs]
    with RecordWriter(out, resume=True) as w:
        assert w.done == {record_key(r["path"], r["id"], "h") for r in recs}


def test_csv_resume_reads_fields_over_the_csv_module_limit(tmp_path):
    out = tmp_path / "out.csv"
    with RecordWriter(out) as w:
        w.write([dict(CSV_RECORD, title="word " * 40_000)])  # 200 KB: over csv's default 128 KiB
    with RecordWriter(out, resume=True) as w:
        assert w.done == {record_key("a.txt", "a", "h")}
    assert csv.field_size_limit() == 131072  # left as it was


def test_csv_that_cannot_be_read_back_names_the_output_file(tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    with RecordWriter(out) as w:
        w.write([CSV_RECORD])

    def unreadable(*args, **kwargs):
        raise csv.Error("line contains NUL")

    monkeypatch.setattr(csv, "DictReader", unreadable)
    with pytest.raises(ValueError, match=f"{out}: cannot be read back as CSV \\(line contains NUL\\)"):
        RecordWriter(out, resume=True)


def test_csv_torn_record_with_a_quoted_line_end_is_cut_whole(tmp_path):
    out = tmp_path / "out.csv"
    first, torn, last = dict(CSV_RECORD, id="x"), dict(CSV_RECORD, id="a\nb"), dict(CSV_RECORD, id="c")
    with RecordWriter(out) as w:
        w.write([first, torn])
    raw = out.read_bytes()
    out.write_bytes(raw[: raw.index(b'"a\nb"') + 3])  # killed while writing: the file ends in '"a\n'
    with RecordWriter(out, resume=True) as w:
        assert w.done == {record_key("a.txt", "x", "h")}
        w.write([torn, last])
    with out.open(encoding="utf-8", newline="") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == ["x", "a\nb", "c"]


WIDE_JSONL = {  # name: (byte-order mark, codec)
    "utf-16": (b"\xff\xfe", "utf-16-le"), "utf-16-be": (b"\xfe\xff", "utf-16-be"), "utf-32": (b"\xff\xfe\x00\x00", "utf-32-le"),
    "utf-32-be": (b"\x00\x00\xfe\xff", "utf-32-be"), "no-bom-le": (b"", "utf-16-le"), "no-bom-be": (b"", "utf-16-be"),
}


@pytest.mark.parametrize("kind", sorted(WIDE_JSONL))
def test_utf16_and_utf32_jsonl_over_max_bytes_give_every_line_a_record(tmp_path, kind):
    # bug 6: such a file was read whole under the limit and cut; the lines after the cut got no record
    bom, codec = WIDE_JSONL[kind]
    rows = [{"id": f"g{i}", "text": f"Good article {i} \U0001f680, officials said."} for i in range(20)]
    rows[3]["text"] = ARTICLE * 500  # one line far over the limit, over several 64 KB reads
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[7] += "\r"  # a Windows line end
    (tmp_path / "w.jsonl").write_bytes(bom + "\n".join(lines).encode(codec))  # no line end after the last line
    unit = 4 if "32" in codec else 2
    arts = list(read_articles([tmp_path / "w.jsonl"], ReadOptions(max_bytes=unit * len(lines[0]) + 20)))
    assert [a.id for a in arts] == [f"g{i}" if i != 3 else "w:4" for i in range(20)]
    assert "line 4 is larger than the limit" in arts[3].error and "larger --max-bytes" in arts[3].error
    good = [a for i, a in enumerate(arts) if i != 3]
    assert all(a.error is None and not a.flags for a in good) and good[-1].text == rows[-1]["text"]
    assert arts[7].text == rows[7]["text"] and {a.encoding for a in good} == {codec[:6] if bom else codec.replace("-", "_")}


def test_utf16_jsonl_without_bom_whose_sample_ends_inside_a_surrogate_pair(tmp_path):
    line = json.dumps({"id": "e", "text": "Rocket launch \U0001f680 seen from the coast, officials said."}, ensure_ascii=False) + "\n"
    data = (line * 3000).encode("utf-16-le")
    end = next(k for k in range(1 << 16, len(data), 2) if data[k - 2 : k] == "\U0001f680".encode("utf-16-le")[:2])
    (tmp_path / "e.jsonl").write_bytes(data[end - (1 << 16) :])  # the first 64 KB end after a high surrogate
    arts = list(read_articles([tmp_path / "e.jsonl"]))
    assert len(arts) > 1000 and all(a.error is None and a.encoding == "utf_16_le" for a in arts[1:])


def test_nul_byte_in_a_utf8_jsonl_line_fails_that_line_only(tmp_path):
    # bug 7: a NUL in the first 4 KB made the whole file one "binary file" error
    bad = json.dumps({"id": "bad", "text": "a\u0000b"}).replace("\\u0000", "\x00")
    good = [json.dumps({"id": f"g{i}", "text": f"Good article {i}, officials said."}) for i in range(20)]
    (tmp_path / "n.jsonl").write_bytes(("\n".join([bad, *good]) + "\n").encode())
    (tmp_path / "s.jsonl").write_bytes(("\n".join([*good[:2], bad, good[2]]) + "\n").encode("utf-8-sig"))
    arts = list(read_articles([tmp_path / "n.jsonl"]))
    assert [a.id for a in arts] == ["n:1"] + [f"g{i}" for i in range(20)]
    assert "line 1: invalid JSON" in arts[0].error and all(a.error is None for a in arts[1:])
    assert [a.error is None for a in read_articles([tmp_path / "s.jsonl"])] == [True, True, False, True]
    # a file that is no text, NUL bytes or not, is still one binary-file record
    (tmp_path / "b.jsonl").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "z.jsonl").write_bytes(b"\x00\x01\x02\x03\x04\x05\x06\x07\n" * 500)
    for name in ("b.jsonl", "z.jsonl"):
        [a] = read_articles([tmp_path / name])
        assert a.error.startswith("binary file"), name


def test_a_file_of_invisible_characters_is_not_an_article(tmp_path):
    """Zero-width spaces and joiners survive str.strip: such a file used to be scored as an article."""
    (tmp_path / "zw.txt").write_text("\u200b\u200d\ufeff\u2060", encoding="utf-8")
    [article] = read_articles([tmp_path])
    assert article.error == "no article text (only invisible characters)"


def test_looks_english_by_script_and_function_words():
    assert not looks_english("朝鲜周三向日本海发射了一枚弹道导弹，韩国联合参谋本部表示。日本政府称导弹落在其专属经济区外。")
    assert not looks_english("Северная Корея запустила баллистическую ракету в сторону Японского моря.")
    assert looks_english("North Korean leader Kim Jong Un (김정은) said on Monday that the talks in 北京 would go on.")
