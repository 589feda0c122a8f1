"""The ``defsum`` command line: ``defsum score PATH... -o OUT``.

Exit status: 0 when every article was scored (skipped symlinks do not count as failures),
1 when some records carry an error (with --resume, also the records an earlier run wrote for
this run's articles), 2 on a fatal error (bad arguments, a model that will not
load, an output file that cannot be written or is an input, an unexpected error), 130 when interrupted (Ctrl-C; rerun with --resume).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from defsum.io import SUFFIXES, ReadOptions, RecordWriter, file_identity, is_record_file, iter_files, read_articles
from defsum.modelio import resolve_model_path
from defsum.scoring import score_local

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_FATAL, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``defsum`` command."""
    parser = argparse.ArgumentParser(prog="defsum", description="Tag and brief security-news articles.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "score",
        help="score every article under the given files or folders",
        description="Score articles (.txt .md .html .htm .json .jsonl, folders walked recursively) "
        "and write one record per article. Exit status: 0 all scored, 1 some records failed, 2 fatal error.",
    )
    s.add_argument("paths", nargs="+", metavar="PATH", help="files or folders of articles")
    s.add_argument("-o", "--output", default="briefs.jsonl", help="output file; .csv writes CSV, anything else JSONL (default: briefs.jsonl)")
    s.add_argument("--batch-size", type=int, default=16, help="articles per summariser batch (default: 16)")
    brief = s.add_mutually_exclusive_group()
    brief.add_argument("--no-summary", action="store_true", help="tag only; do not write briefs")
    brief.add_argument("--extractive", action="store_true",
                       help="briefs are the sentence the summariser's ranker picks, without running its seq2seq model: "
                            "about 200x faster, and the same brief for 345 of 348 evaluation articles (README)")
    s.add_argument("--classifier", default=None, help="classifier model folder or hub id (default: the shipped model)")
    s.add_argument("--summarizer", default=None, help="summariser model folder or hub id (default: the shipped model)")
    s.add_argument("--text-field", default="text", help="JSON field holding the article text (default: text)")
    s.add_argument("--title-field", default="title", help="JSON field holding the title (default: title)")
    s.add_argument("--id-field", default="id", help="JSON field holding the article id (default: id)")
    s.add_argument("--max-bytes", type=int, default=1_000_000, help="size limit per file in bytes; for .jsonl files, per line (default: 1000000)")
    s.add_argument("--oversize", choices=("truncate", "error"), default="truncate",
                   help="files over --max-bytes: score the first --max-bytes bytes (flagged truncated_input) or record an error")
    s.add_argument("--follow-symlinks", action="store_true", help="follow symbolic links (loops are detected)")
    s.add_argument("--resume", action="store_true", help="keep OUT and score only articles not already in it")
    s.add_argument("--engine", choices=("local", "ray"), default="local", help="run here or on Ray Data (pip install 'defsum[ray]')")
    s.add_argument("--ray-address", default=None, help="Ray cluster to join (default: $RAY_ADDRESS, else a local instance)")
    s.add_argument("--ray-actors", type=int, default=1, help="model-holding actors in the Ray pool (default: 1)")
    s.add_argument("--ray-object-store-mb", type=int, default=512, help="object store size for a local Ray instance (default: 512)")
    s.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    s.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",  # classifier.BACKENDS
                   help="classifier engine: torch (see --precision) or onnxruntime (int8 or fp32; CPU; about 5 s to export "
                        "at start; pip install 'defsum[onnx]'); README, \"Speed\"")
    s.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8"), default="auto",  # defsum.precision.PRECISIONS
                   help="arithmetic: auto (the classifier in bf16 on a GPU or a CPU with AMX, in int8 on other x86 CPUs, "
                        "else fp32; the summariser in bf16 where the CPU has it, else fp32), fp32, bf16, or int8 (the "
                        "classifier only, on the CPU; the summariser then runs at auto). --backend onnxruntime takes auto, "
                        "int8 or fp32. Tags can differ near a threshold between arithmetics: pass the same value on every "
                        "machine whose records you compare, Ray cluster nodes included (README, \"Speed\")")
    s.add_argument("--no-token-pruning", action="store_true",
                   help="make the classifier read every token of each window in every layer; by default it drops, from "
                        "the layer its model's defsum_config.json names, the tokens the first token attends to least "
                        "(faster; README, \"Speed\")")
    s.add_argument("-q", "--quiet", action="store_true", help="no table and no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="defsum: %(message)s")
    for flag, value in (("--batch-size", args.batch_size), ("--ray-actors", args.ray_actors)):
        if value < 1:
            print(f"defsum: {flag} must be at least 1, got {value}", file=sys.stderr)
            return EXIT_FATAL
    if hasattr(sys.stdout, "reconfigure"):  # the table is for reading: a console that cannot show a title must not stop the run
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return score(args)
    except BrokenPipeError:  # stderr's reader went away: nothing can be said, and the records written are kept
        _silence(sys.stdout)
        _silence(sys.stderr)
        return EXIT_FATAL
    except (ValueError, OSError) as err:
        _say(f"defsum: error: {err}")
        return EXIT_FATAL
    except KeyboardInterrupt:
        _say("defsum: interrupted; the records written so far are kept: rerun with --resume to finish")
        return EXIT_INTERRUPTED
    except Exception as err:  # not a traceback with exit 1, which would read as "some records failed"
        logger.debug("unexpected error", exc_info=True)
        _say(f"defsum: error: unexpected {type(err).__name__}: {err}; the records written so far are kept "
             "(rerun with --resume to finish; please report this error)")
        return EXIT_FATAL


def score(args: argparse.Namespace) -> int:
    """The ``score`` subcommand: stream articles through the models into the output file."""
    check_output_is_not_an_input(args.output, args.paths, args.follow_symlinks)  # before the output is opened
    output = os.path.realpath(args.output)
    options = ReadOptions(args.text_field, args.title_field, args.id_field, args.max_bytes, args.oversize, args.follow_symlinks,
                          exclude=frozenset({output}))  # never read our own output as input
    if args.quiet or not _is_terminal(sys.stderr):  # transformers' "Loading weights" bar: for a person watching only
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    from defsum.classifier import check_arithmetic

    try:  # before the output is opened, also for the Ray engine, whose actors would fail only after
        check_arithmetic(args.backend, args.precision, args.device, here=args.engine == "local")  # Ray: the workers' devices
    except ValueError as err:
        raise ValueError(f"{err} (--backend {args.backend} --precision {args.precision} --device {args.device})") from err
    analyzer = None
    if args.engine == "local":  # the Ray engine loads the models once per actor instead
        analyzer = _load_analyzer(args)
    else:  # a model folder that is not there fails here, before the output is opened, not in an actor
        resolve_model_path(args.classifier, "classifier")
        if not args.no_summary:
            resolve_model_path(args.summarizer, "summarizer")
    counts = {"scored": 0, "failed": 0, "skipped": 0, "already done": 0, "failed earlier": 0}
    show_table = not args.quiet
    articles = read_articles(args.paths, options)
    with RecordWriter(args.output, resume=args.resume) as writer:
        bar = _on_stderr(tqdm, desc="articles", unit="article", disable=args.quiet, file=sys.stderr)
        if bar is None:  # stderr's reader went away already
            bar = tqdm(desc="articles", disable=True)
        if args.engine == "ray":
            from defsum.engine_ray import score_with_ray

            chunks = score_with_ray(
                args.paths, options, writer.done, classifier=args.classifier, summarizer=args.summarizer,
                summarize=not args.no_summary, extractive=args.extractive, backend=args.backend, batch_size=args.batch_size,
                device=args.device, precision=args.precision, token_pruning=not args.no_token_pruning, address=args.ray_address,
                actors=args.ray_actors, object_store_mb=args.ray_object_store_mb,
            )
        else:
            chunks = score_local(analyzer, articles, args.batch_size, writer.done)
        for records, already in chunks:
            writer.write(records)
            counts["already done"] += len(already)
            counts["failed earlier"] += sum(key in writer.failed_keys for key in already)  # this job's, from a run before
            for r in records:
                kind = "skipped" if (r["error"] or "").startswith("skipped") else "failed" if r["error"] else "scored"
                counts[kind] += 1
            _on_stderr(bar.update, len(records) + len(already))
            if show_table:
                _on_stderr(bar.clear)
                try:
                    print_table(records)
                    sys.stdout.flush()  # here, not at exit: a reader that went away is met inside this try
                except BrokenPipeError:  # the table's reader went away (| head): keep scoring into the output file
                    show_table = False
                    _silence(sys.stdout)
        _on_stderr(bar.close)
    if not any(counts.values()):  # most likely a wrong folder or suffix: say so rather than finish silently
        _say(f"defsum: no article files found in {' '.join(args.paths)} (defsum reads files ending in {', '.join(sorted(SUFFIXES))})")
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v or k in ("scored", "failed"))
    _say(f"defsum: {summary}; records in {args.output}")
    return EXIT_FAILED_RECORDS if counts["failed"] or counts["failed earlier"] else EXIT_OK


def _load_analyzer(args: argparse.Namespace) -> Any:
    """The models of a local run."""
    from defsum.pipeline import Analyzer

    return Analyzer.from_pretrained(args.classifier, args.summarizer, summarize=not args.no_summary,
                                    extractive=args.extractive, device=args.device, backend=args.backend,
                                    precision=args.precision, token_pruning=not args.no_token_pruning)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


def check_output_is_not_an_input(output: str, paths: Sequence[str], follow_symlinks: bool = False) -> None:
    """Raise ValueError when writing ``output`` would wipe (or, with --resume, append to) an input:
    a file named as an input, or an article file a folder walk reaches (under any name: a hard
    link too). A defsum output file or an empty file inside a folder being scored may be
    written: it is never read as input."""
    target = file_identity(output)
    if target is None:
        return  # not there yet (or not a file we can stat): nothing to lose
    for given in paths:
        if os.path.isfile(given) and file_identity(given) == target:
            _refuse(output, given)
    if os.path.getsize(output) == 0 or is_record_file(output):
        return
    for path, problem in iter_files(paths, follow_symlinks):  # stat only; no file is read
        if problem is None and file_identity(path) == target:
            _refuse(output, str(path))


def _refuse(output: str, given: str) -> None:
    raise ValueError(f"the output file {output} is also an input ({given}): writing the records there would wipe "
                     "the articles in it; write the records to another file (-o)")


def _say(message: str) -> None:
    """Print a message on stderr; a reader that went away (``2>&1 | head``) does not stop the run."""
    _on_stderr(print, message, file=sys.stderr)


def _on_stderr(action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``action``, which writes on stderr (the progress bar, a message), and return what it returns.
    When stderr's reader went away, stderr is sent to the null device and None returned: the run goes on."""
    try:
        return action(*args, **kwargs)
    except BrokenPipeError:
        _silence(sys.stderr)
        return None


def _silence(stream: Any) -> None:
    """Send what is written on ``stream`` (a pipe whose reader went away) to the null device."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):  # a stream with no file descriptor (as under pytest): leave it
        pass


NOTES = {
    "non_english": "not English: the models read English, so these labels mean little",
    "truncated_input": "only the first --max-bytes of the file were read",
    "capped": "very long: only the first windows were scored",
}
"""Flags the table explains under an article (all flags are in the output records)."""


def print_table(records: list[dict[str, Any]]) -> None:
    """Print records as a readable table on stdout."""
    width = max(shutil.get_terminal_size((120, 20)).columns - 4, 20)  # the text's width: a narrow console still gets some
    for r in records:
        name = Path(r["path"]).name + ("" if r["id"] == Path(r["path"]).stem else f" [{r['id']}]")
        if r["error"]:
            print(f"{name}\n    ERROR {r['error']}\n")
            continue
        tags = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["scores"].items(), key=lambda kv: -kv[1]))
        print(f"{name}  ->  {r['primary'].upper()}   ({tags})")
        if r.get("title"):
            print(textwrap.fill(r["title"], width, initial_indent="    ", subsequent_indent="    "))
        if r["summary"]:
            print(textwrap.fill("brief: " + r["summary"], width, initial_indent="    ", subsequent_indent="           "))
        notes = [NOTES[f] for f in r.get("flags") or () if f in NOTES]
        if notes:
            print(textwrap.fill("note: " + "; ".join(notes), width, initial_indent="    ", subsequent_indent="          "))
        print()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
