from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from defsum.cli import EXIT_FAILED_RECORDS, EXIT_FATAL, EXIT_OK, main
from tests.test_io import ARTICLE, make_bad_folder


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_score_bad_folder_one_record_each(tmp_path, tiny_classifier_dir, capsys):
    expect = make_bad_folder(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    code = main(["score", str(tmp_path / "in"), "-o", str(out), "--classifier", str(tiny_classifier_dir), "--no-summary"])
    assert code == EXIT_FAILED_RECORDS
    records = read_jsonl(out)
    assert len(records) == sum(expect.values())
    for r in records:
        assert set(r) >= {"path", "id", "title", "labels", "scores", "primary", "summary", "error"}
        assert (r["error"] is None) == (r["primary"] is not None)
    err = capsys.readouterr().err
    assert "scored" in err and "failed" in err and "skipped" in err


def test_score_csv_and_exit_ok(tmp_path, tiny_classifier_dir, capsys):
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"a{i}.txt").write_text(f"Title {i}\n\n{ARTICLE}")
    out = tmp_path / "out.csv"
    code = main(["score", str(tmp_path / "in"), "-o", str(out), "--classifier", str(tiny_classifier_dir), "--no-summary"])
    assert code == EXIT_OK
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["a0", "a1", "a2"] and rows[0]["title"] == "Title 0"
    assert "a0.txt  ->" in capsys.readouterr().out  # the readable table


def test_fatal_errors_exit_2(tmp_path, capsys):
    (tmp_path / "a.txt").write_text(ARTICLE)
    assert main(["score", str(tmp_path), "-o", str(tmp_path / "o.jsonl"), "--classifier", str(tmp_path / "none"), "--no-summary"]) == EXIT_FATAL
    assert "does not exist" in capsys.readouterr().err


def test_resume_skips_done_articles(tmp_path, tiny_classifier_dir, capsys):
    (tmp_path / "in").mkdir()
    for i in range(4):
        (tmp_path / "in" / f"a{i}.txt").write_text(f"{ARTICLE} {i}")
    out = tmp_path / "out.jsonl"
    args = ["score", str(tmp_path / "in"), "-o", str(out), "--classifier", str(tiny_classifier_dir), "--no-summary", "-q"]
    assert main(args) == EXIT_OK
    (tmp_path / "in" / "a4.txt").write_text(f"{ARTICLE} new")
    assert main([*args, "--resume"]) == EXIT_OK
    assert sorted(r["id"] for r in read_jsonl(out)) == ["a0", "a1", "a2", "a3", "a4"]
    assert "4 already done" in capsys.readouterr().err


def test_sigkill_then_resume_gives_exactly_one_record_each(tmp_path, tiny_classifier_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    n = 300
    for i in range(n):
        (folder / f"art{i:03d}.txt").write_text(f"Article {i}\n\n{ARTICLE} Number {i}. " * 3)
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "defsum.cli", "score", str(folder), "-o", str(out), "--classifier",
           str(tiny_classifier_dir), "--no-summary", "-q", "--batch-size", "1"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 2000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = out.read_text(encoding="utf-8").count("\n")
    assert 0 < partial < n, "the run should have been killed midway"
    with open(out, "a", encoding="utf-8") as fh:  # a torn line, as a kill mid-write leaves
        fh.write('{"path": "torn')
    done = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr
    records = read_jsonl(out)  # every line parses
    ids = [r["id"] for r in records]
    assert sorted(ids) == [f"art{i:03d}" for i in range(n)]


def test_extractive_briefs_from_the_command_line(tmp_path, tiny_classifier_dir, tiny_summarizer_path, capsys, monkeypatch):
    from defsum import briefs
    from defsum.summarizer import Summarizer

    monkeypatch.setattr(Summarizer, "_generate", lambda *a, **k: pytest.fail("--extractive must not run the seq2seq model"))

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(f"Launch\n\n{ARTICLE}")
    out = tmp_path / "out.jsonl"
    args = ["score", str(tmp_path / "in"), "-o", str(out), "--classifier", str(tiny_classifier_dir), "-q"]
    assert main([*args, "--summarizer", str(tiny_summarizer_path), "--extractive"]) == EXIT_OK
    [record] = read_jsonl(out)
    assert record["summary"] == briefs.lead_sentence(ARTICLE)  # the tiny model's fallback is the lead
    try:
        main([*args, "--no-summary", "--extractive"])
    except SystemExit as stop:  # argparse: the two options exclude each other
        assert stop.code == 2
    else:
        raise AssertionError("--no-summary with --extractive was accepted")
    assert "not allowed with argument" in capsys.readouterr().err


def _score(tmp_path, tiny_classifier_dir, *extra):
    return main(["score", *map(str, extra), "--classifier", str(tiny_classifier_dir), "--no-summary", "-q"])


def test_non_utf8_file_name_does_not_stop_the_run(tmp_path, tiny_classifier_dir):
    (tmp_path / "in").mkdir()
    with open(os.path.join(os.fsencode(tmp_path / "in"), b"caf\xe9.txt"), "wb") as fh:
        fh.write(ARTICLE.encode())
    (tmp_path / "in" / "ok.txt").write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out) == EXIT_OK
    records = read_jsonl(out)
    assert [(Path(r["path"]).name, r["id"], r["error"]) for r in records] == [("caf\\xe9.txt", "caf\\xe9", None), ("ok.txt", "ok", None)]
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out, "--resume") == EXIT_OK
    assert len(read_jsonl(out)) == 2  # the escaped path is a stable --resume key


def test_output_inside_the_input_folder_is_not_read(tmp_path, tiny_classifier_dir, monkeypatch):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    monkeypatch.chdir(tmp_path / "in")
    assert _score(tmp_path, tiny_classifier_dir, ".") == EXIT_OK  # default output: ./briefs.jsonl
    assert [r["id"] for r in read_jsonl(tmp_path / "in" / "briefs.jsonl")] == ["a"]
    assert _score(tmp_path, tiny_classifier_dir, ".", "--resume") == EXIT_OK
    assert [r["id"] for r in read_jsonl(tmp_path / "in" / "briefs.jsonl")] == ["a"]


def test_resume_exit_status_ignores_failures_of_inputs_since_fixed(tmp_path, tiny_classifier_dir, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    (tmp_path / "in" / "b.txt").write_bytes(b"")
    args = [tmp_path / "in", "-o", tmp_path / "out.jsonl"]
    assert _score(tmp_path, tiny_classifier_dir, *args) == EXIT_FAILED_RECORDS
    (tmp_path / "in" / "b.txt").write_text(ARTICLE + " Fixed.")  # a new article: its content hash changed
    capsys.readouterr()
    assert _score(tmp_path, tiny_classifier_dir, *args, "--resume") == EXIT_OK
    assert "1 scored" in capsys.readouterr().err
    assert _score(tmp_path, tiny_classifier_dir, *args, "--resume") == EXIT_OK  # the old error record is not this job's
    assert "failed earlier" not in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_gives_failed_and_skipped_articles_one_record(tmp_path, tiny_classifier_dir, capsys, fmt):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    (tmp_path / "in" / "bad.jsonl").write_text('{"text": "x"\n')
    os.symlink(tmp_path / "in" / "a.txt", tmp_path / "in" / "link.txt")
    out = tmp_path / f"out.{fmt}"
    args = [tmp_path / "in", "-o", out]
    assert _score(tmp_path, tiny_classifier_dir, *args) == EXIT_FAILED_RECORDS
    for _ in range(2):
        capsys.readouterr()
        assert _score(tmp_path, tiny_classifier_dir, *args, "--resume") == EXIT_FAILED_RECORDS  # the records of bad.jsonl and empty.txt
        err = capsys.readouterr().err
        assert "4 already done" in err and "2 failed earlier" in err
    rows = read_jsonl(out) if fmt == "jsonl" else list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert sorted(r["id"] for r in rows) == ["a", "bad:1", "empty", "link"]


def test_resume_csv_keeps_whitespace_in_path_and_id(tmp_path, tiny_classifier_dir, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "two  spaces.txt").write_text(ARTICLE)
    (tmp_path / "in" / "f.jsonl").write_text(json.dumps({"id": "x  y\tz", "title": "A  title\nhere", "text": ARTICLE}) + "\n")
    out = tmp_path / "out.csv"
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out) == EXIT_OK
    capsys.readouterr()
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out, "--resume") == EXIT_OK
    assert "2 already done" in capsys.readouterr().err
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [(Path(r["path"]).name, r["id"]) for r in rows] == [("f.jsonl", "x  y\tz"), ("two  spaces.txt", "two  spaces")]
    assert rows[0]["title"] == "A title here"  # free text is still tidied


def test_resume_with_line_separators_in_records(tmp_path, tiny_classifier_dir, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "f\u2028\x85.jsonl").write_text(json.dumps({"id": "a\u2029b", "text": ARTICLE}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out) == EXIT_OK
    capsys.readouterr()
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out, "--resume") == EXIT_OK
    assert "1 already done" in capsys.readouterr().err
    assert [r["id"] for r in read_jsonl(out)] == ["a\u2029b"]


def test_output_that_is_an_input_is_refused_and_kept(tmp_path, tiny_classifier_dir, capsys):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "a", "text": ARTICLE}) + "\n")
    before = src.read_bytes()
    code = main(["score", str(src), "-o", str(tmp_path / "." / "a.jsonl"), "--classifier", str(tiny_classifier_dir), "--no-summary"])
    assert code == EXIT_FATAL and "is also an input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_ray_engine_with_a_missing_model_keeps_the_output(tmp_path, capsys):
    (tmp_path / "a.txt").write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    out.write_text('{"kept": 1}\n')
    args = ["score", str(tmp_path / "a.txt"), "-o", str(out), "--engine", "ray", "--no-summary"]
    assert main([*args, "--classifier", str(tmp_path / "none")]) == EXIT_FATAL  # fails before Ray starts or the file opens
    assert "does not exist" in capsys.readouterr().err and out.read_text() == '{"kept": 1}\n'
    assert main([*args, "--ray-actors", "0"]) == EXIT_FATAL and "--ray-actors" in capsys.readouterr().err


def test_table_that_the_console_cannot_show_does_not_stop_the_run(tmp_path, tiny_classifier_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "k.jsonl").write_text("\n".join(json.dumps({"id": f"k{i}", "title": "북한 미사일 발사", "text": f"{ARTICLE} {i}"})
                                              for i in range(40)) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "defsum.cli", "score", str(folder), "-o", str(out), "--classifier", str(tiny_classifier_dir),
           "--no-summary", "--batch-size", "1"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), PYTHONIOENCODING="cp1252")
    env.pop("PYTHONUNBUFFERED", None)  # stdout buffered, as a pipe is by default
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr
    assert b"\\ubd81" in done.stdout and len(read_jsonl(out)) == 40  # escaped in the table, all scored
    # the table's reader goes away (| head): the records are all written still, and the exit status is 0
    out.unlink()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before anything is printed, so the first flush meets a closed pipe
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_OK, err
    assert len(read_jsonl(out)) == 40


def test_files_named_twice_are_read_once_and_empty_folders_are_reported(tmp_path, tiny_classifier_dir, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    base = ["-o", str(out), "--classifier", str(tiny_classifier_dir), "--no-summary", "-q"]
    assert main(["score", str(folder), str(folder / "a.txt"), str(tmp_path / "in" / "." / "a.txt"), *base]) == EXIT_OK
    assert [r["id"] for r in read_jsonl(out)] == ["a"]
    os.mkfifo(folder / "pipe.txt")
    assert main(["score", str(folder / "pipe.txt"), *base]) == EXIT_OK  # skipped, not failed
    [record] = read_jsonl(out)
    assert "not a regular file" in record["error"]
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main(["score", str(tmp_path / "empty"), *base]) == EXIT_OK
    assert "no article files found" in capsys.readouterr().err


def test_cli_offers_every_classifier_backend() -> None:
    """The CLI lists its --backend choices without importing the classifier (a fast --help): they must
    stay the classifier's."""
    from defsum.classifier import BACKENDS
    from defsum.cli import build_parser

    score = build_parser()._subparsers._group_actions[0].choices["score"]
    assert set(next(a for a in score._actions if a.dest == "backend").choices) == set(BACKENDS)


def test_cli_precision_reaches_both_models(tmp_path, tiny_classifier_dir, tiny_summarizer_path, monkeypatch) -> None:
    """--precision offers the library's choices and sets the classifier's arithmetic; the
    summariser, which has no int8, runs at auto then."""
    from defsum.cli import build_parser
    from defsum.pipeline import Analyzer
    from defsum.precision import PRECISIONS, resolve_precision

    score = build_parser()._subparsers._group_actions[0].choices["score"]
    assert set(next(a for a in score._actions if a.dest == "precision").choices) == set(PRECISIONS)
    analyzer = Analyzer.from_pretrained(str(tiny_classifier_dir), str(tiny_summarizer_path), precision="int8")
    assert analyzer.classifier.precision == "int8" and analyzer.summarizer.precision == resolve_precision("auto")
    loaded = []
    load = Analyzer.from_pretrained.__func__
    monkeypatch.setattr(Analyzer, "from_pretrained", classmethod(lambda cls, *a, **kw: loaded.append(load(cls, *a, **kw)) or loaded[-1]))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    args = ["score", str(tmp_path / "in"), "--classifier", str(tiny_classifier_dir), "--no-summary", "-q"]
    for precision in ("fp32", "int8"):
        assert main([*args, "-o", str(tmp_path / f"{precision}.jsonl"), "--precision", precision]) == EXIT_OK
        assert loaded[-1].classifier.precision == precision
        assert read_jsonl(tmp_path / f"{precision}.jsonl")[0]["scores"]


def test_resume_does_not_depend_on_how_the_folder_was_typed(tmp_path, tiny_classifier_dir, monkeypatch):
    """`in`, `./in/` and the absolute path name the same files: a resumed run adds no second record."""
    (tmp_path / "in").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "in" / name).write_text(ARTICLE)
    monkeypatch.chdir(tmp_path)
    assert _score(tmp_path, tiny_classifier_dir, "in", "-o", "out.jsonl") == EXIT_OK
    for typed in ("./in/", str(tmp_path / "in"), "in/../in"):
        assert _score(tmp_path, tiny_classifier_dir, typed, "-o", "out.jsonl", "--resume") == EXIT_OK
        assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["a", "b"], typed
    (tmp_path / "in" / "c.txt").write_text(ARTICLE + " More.")
    assert _score(tmp_path, tiny_classifier_dir, str(tmp_path / "in"), "-o", "out.jsonl", "--resume") == EXIT_OK
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["a", "b", "c"]


# ---------------------------------------------------------------------- reviewed bugs (CLI and io review)
def test_output_that_is_an_article_file_reached_by_the_walk_is_refused(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    articles = folder / "articles.jsonl"
    articles.write_text(json.dumps({"id": "k1", "text": ARTICLE}) + "\n")
    (folder / "a.txt").write_text(ARTICLE)
    before = articles.read_bytes()
    os.link(articles, tmp_path / "hard.jsonl")
    monkeypatch.chdir(tmp_path)
    for out, extra in (("in/articles.jsonl", []), ("hard.jsonl", []), ("hard.jsonl", ["--resume"])):
        capsys.readouterr()
        assert _score(tmp_path, tiny_classifier_dir, "in", "-o", out, *extra) == EXIT_FATAL, out
        err = capsys.readouterr().err
        assert f"the output file {out} is also an input (in/articles.jsonl)" in err, err
        assert articles.read_bytes() == before
    assert _score(tmp_path, tiny_classifier_dir, "in/a.txt", "in/articles.jsonl", "-o", "hard.jsonl") == EXIT_FATAL  # named
    assert _score(tmp_path, tiny_classifier_dir, "in", "-o", "in/out.jsonl") == EXIT_OK  # a new file, then a defsum output
    assert _score(tmp_path, tiny_classifier_dir, "in", "-o", "in/out.jsonl") == EXIT_OK
    assert _score(tmp_path, tiny_classifier_dir, "in", "-o", "in/out.jsonl", "--resume") == EXIT_OK
    assert [r["id"] for r in read_jsonl(folder / "out.jsonl")] == ["a", "k1"]
    assert articles.read_bytes() == before


def test_unexpected_error_is_fatal_with_a_message(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    import defsum.cli

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(defsum.cli, "score_local", broken)
    (tmp_path / "a.txt").write_text(ARTICLE)
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "a.txt", "-o", tmp_path / "out.jsonl") == EXIT_FATAL
    assert "defsum: error: unexpected RuntimeError: boom" in capsys.readouterr().err


def test_table_on_a_very_narrow_console(monkeypatch, capsys):
    from defsum.cli import print_table

    monkeypatch.setenv("COLUMNS", "4")
    print_table([{"path": "a.txt", "id": "a", "error": None, "scores": {"diplomacy": 0.9}, "primary": "diplomacy",
                  "title": "Talks in Geneva", "summary": "Envoys met."}])
    assert "DIPLOMACY" in capsys.readouterr().out


def test_table_explains_flags_that_change_how_to_read_a_record(capsys):
    from defsum.cli import print_table

    rec = {"path": "a.txt", "id": "a", "error": None, "scores": {"diplomacy": 0.9}, "primary": "diplomacy",
           "title": "Talks", "summary": "Envoys met."}
    print_table([{**rec, "flags": ["chunked", "non_english", "truncated_input"]}, {**rec, "flags": ["chunked"]}])
    first, second = capsys.readouterr().out.split("\n\n")[:2]
    assert "note: not English" in first and "--max-bytes" in first and "note:" not in second


class _BrokenStderr:
    """stderr whose reader went away (2>&1 | head)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


class _BrokenBar:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def update(self, n: int) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    clear = close = lambda self: _BrokenBar.update(self, 0)


def test_stderr_reader_gone_does_not_stop_the_run(tmp_path, tiny_classifier_dir, monkeypatch):
    import defsum.cli

    (tmp_path / "in").mkdir()
    for i in range(5):
        (tmp_path / "in" / f"a{i}.txt").write_text(f"{ARTICLE} {i}")
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(defsum.cli, "tqdm", _BrokenBar)
    monkeypatch.setattr(defsum.cli, "print_table", lambda records: None)
    monkeypatch.setattr(sys, "stderr", _BrokenStderr())
    args = ["score", str(tmp_path / "in"), "-o", str(out), "--classifier", str(tiny_classifier_dir), "--no-summary", "--batch-size", "1"]
    assert main(args) == EXIT_OK
    assert len(read_jsonl(out)) == 5


def test_stderr_closed_while_the_models_load(tmp_path, tiny_classifier_dir):
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"a{i}.txt").write_text(f"{ARTICLE} {i}")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "defsum.cli", "score", str(tmp_path / "in"), "-o", str(out), "--classifier",
           str(tiny_classifier_dir), "--no-summary"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc.stderr.close()  # before anything is written: the loading bar meets a closed pipe
    rc = proc.wait(timeout=300)
    assert rc == EXIT_OK, f"exit status {rc}"
    assert len(read_jsonl(out)) == 3


def test_ray_engine_gets_the_device(tmp_path, tiny_classifier_dir, monkeypatch):
    import defsum.engine_ray

    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        return iter([])

    monkeypatch.setattr(defsum.engine_ray, "score_with_ray", fake)
    (tmp_path / "a.txt").write_text(ARTICLE)
    assert _score(tmp_path, tiny_classifier_dir, tmp_path, "-o", tmp_path / "out.jsonl", "--engine", "ray", "--device", "cuda:3",
                  "--precision", "bf16", "--no-token-pruning") == EXIT_OK
    assert seen["device"] == "cuda:3" and seen["precision"] == "bf16" and seen["token_pruning"] is False


def test_no_token_pruning_reaches_the_classifier(tmp_path, tiny_classifier_dir, monkeypatch):
    from defsum.pipeline import Analyzer

    seen = []
    load = Analyzer.from_pretrained.__func__
    monkeypatch.setattr(Analyzer, "from_pretrained", classmethod(lambda cls, *a, **kw: seen.append(kw) or load(cls, *a, **kw)))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    for flags, expect in (((), True), (("--no-token-pruning",), False)):
        assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", tmp_path / f"out{expect}.jsonl", *flags) == EXIT_OK
        assert seen[-1]["token_pruning"] is expect


@pytest.mark.parametrize("engine", ["local", "ray"])
@pytest.mark.parametrize("flags", [("--backend", "onnxruntime", "--precision", "bf16"), ("--precision", "int8", "--device", "cuda")])
def test_arithmetic_that_cannot_run_is_refused_before_the_output_opens(tmp_path, tiny_classifier_dir, capsys, engine, flags):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    out.write_text('{"kept": true}\n')
    assert _score(tmp_path, tiny_classifier_dir, tmp_path / "in", "-o", out, "--engine", engine, *flags) == EXIT_FATAL
    assert out.read_text() == '{"kept": true}\n'  # nothing written is lost
    err = capsys.readouterr().err
    assert "error:" in err and " ".join(flags[-2:]) in err  # the message names the flags given
