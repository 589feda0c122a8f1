"""The ``defsum`` command line: ``defsum score PATH... -o OUT``.

Exit status: 0 when every article was scored (skipped symlinks do not count as failures),
1 when some records carry an error (with --resume, also the records an earlier run wrote for
this run's articles), 2 on a fatal error (bad arguments, a model that will not
load, an output file that cannot be written), 130 when interrupted (Ctrl-C; rerun with --resume).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from defsum.io import SUFFIXES, ReadOptions, RecordWriter, read_articles
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
                   help="classifier engine: torch (bf16 where the CPU has it; the fastest measured on a CPU with AMX) or "
                        "onnxruntime (int8; CPU; about 5 s to export at start; the faster choice on a CPU without native bf16; "
                        "pip install 'defsum[onnx]'); README, \"Speed\"")
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
    except (ValueError, OSError) as err:
        print(f"defsum: error: {err}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        print("defsum: interrupted; the records written so far are kept: rerun with --resume to finish", file=sys.stderr)
        return EXIT_INTERRUPTED


def score(args: argparse.Namespace) -> int:
    """The ``score`` subcommand: stream articles through the models into the output file."""
    from defsum.pipeline import Analyzer

    output = os.path.realpath(args.output)
    for given in args.paths:  # before the output is opened: writing it would wipe an input
        if os.path.isfile(given) and os.path.realpath(given) == output:
            raise ValueError(f"the output file {args.output} is also an input; write the records to another file (-o)")
    options = ReadOptions(args.text_field, args.title_field, args.id_field, args.max_bytes, args.oversize, args.follow_symlinks,
                          exclude=frozenset({output}))  # never read our own output as input
    if args.quiet:  # transformers' "Loading weights" bar too
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    analyzer = None
    if args.engine == "local":  # the Ray engine loads the models once per actor instead
        analyzer = Analyzer.from_pretrained(args.classifier, args.summarizer, summarize=not args.no_summary,
                                            extractive=args.extractive, device=args.device, backend=args.backend)
    else:  # a model folder that is not there fails here, before the output is opened, not in an actor
        resolve_model_path(args.classifier, "classifier")
        if not args.no_summary:
            resolve_model_path(args.summarizer, "summarizer")
    counts = {"scored": 0, "failed": 0, "skipped": 0, "already done": 0, "failed earlier": 0}
    show_table = not args.quiet
    articles = read_articles(args.paths, options)
    with RecordWriter(args.output, resume=args.resume) as writer:
        bar = tqdm(desc="articles", unit="article", disable=args.quiet, file=sys.stderr)
        if args.engine == "ray":
            from defsum.engine_ray import score_with_ray

            chunks = score_with_ray(
                args.paths, options, writer.done, classifier=args.classifier, summarizer=args.summarizer,
                summarize=not args.no_summary, extractive=args.extractive, backend=args.backend, batch_size=args.batch_size,
                address=args.ray_address,
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
            bar.update(len(records) + len(already))
            if show_table:
                bar.clear()
                try:
                    print_table(records)
                    sys.stdout.flush()  # here, not at exit: a reader that went away is met inside this try
                except BrokenPipeError:  # the table's reader went away (| head): keep scoring into the output file
                    show_table = False
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        bar.close()
    if not any(counts.values()):  # most likely a wrong folder or suffix: say so rather than finish silently
        print(f"defsum: no article files found in {' '.join(args.paths)} (defsum reads files ending in {', '.join(sorted(SUFFIXES))})", file=sys.stderr)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v or k in ("scored", "failed"))
    print(f"defsum: {summary}; records in {args.output}", file=sys.stderr)
    return EXIT_FAILED_RECORDS if counts["failed"] or counts["failed earlier"] else EXIT_OK


def print_table(records: list[dict[str, Any]]) -> None:
    """Print records as a readable table on stdout."""
    width = shutil.get_terminal_size((120, 20)).columns
    for r in records:
        name = Path(r["path"]).name + ("" if r["id"] == Path(r["path"]).stem else f" [{r['id']}]")
        if r["error"]:
            print(f"{name}\n    ERROR {r['error']}\n")
            continue
        tags = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["scores"].items(), key=lambda kv: -kv[1]))
        print(f"{name}  ->  {r['primary'].upper()}   ({tags})")
        if r.get("title"):
            print(textwrap.fill(r["title"], width - 4, initial_indent="    ", subsequent_indent="    "))
        if r["summary"]:
            print(textwrap.fill("brief: " + r["summary"], width - 4, initial_indent="    ", subsequent_indent="           "))
        print()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
