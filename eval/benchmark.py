"""Speed and memory of defsum against the transformers pipeline on the same weights.

Runs the systems alternately in one process (so they share the machine's state), reports
articles per second, the ratio to the pipeline, the peak memory of each system run alone in a
child process (loading its models and scoring the articles once), and the accuracy cost of each fast path (macro-F1, and
``vs_defsum_fp32``: changes against defsum in fp32 reading every token, on the same articles). Each
classify row also counts the (non-padding) tokens its system feeds the encoder and reports its speed per token
against the pipeline's: defsum reads every window of a long article (its first only, for a model
whose aggregation is "first") where the pipeline cuts at 512 tokens, so its article ratio is its per-token ratio divided by that extra work. The "first
window only" rows read what the pipeline reads, to separate the two.

    python eval/benchmark.py                      # classify-only and classify+summarise, corpus test split
    python eval/benchmark.py --stream 1000 10000  # peak memory of `defsum score` on 1,000 vs 10,000 files

With ``onnx`` and ``onnxruntime`` installed (``pip install -e '.[bench]'``), the classify table
also times ``EventClassifier.from_pretrained(backend="onnxruntime")``: the classifier exported to
ONNX and quantised to int8 by ONNX Runtime, scoring the same windows.

Numbers depend on the machine: compare ratios measured in the same run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from defsum import EventClassifier, Summarizer  # noqa: E402
from defsum.classifier import DEFAULTS as CLASSIFIER_DEFAULTS  # noqa: E402
from defsum.data import label_matrix, read_records  # noqa: E402
from defsum.first_token import run_every_position  # noqa: E402
from defsum.token_pruning import applies  # noqa: E402
from defsum.metrics import apply_temperature, classification_metrics  # noqa: E402
from defsum.modelio import load_defsum_config, resolve_model_path  # noqa: E402
from defsum.precision import FullRangeDynamicLinear, _x86_int8, int8_full_range, resolve_precision  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory in MB (``VmHWM``: its peak). Read from /proc, not taken from
    ``getrusage``: a child's ``ru_maxrss`` starts at its parent's resident size when it was forked."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_name() -> str:
    """The CPU's model name and its bf16 matrix units (AMX makes bf16 much faster), from /proc/cpuinfo."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "unknown CPU")
    units = "AMX" if "amx_bf16" in info else "AVX-512 BF16, no AMX" if "avx512_bf16" in info else "no native bf16"
    return f"{name} ({units})"


def run_alternately(systems: dict[str, Callable[[], Any]], rounds: int) -> dict[str, dict[str, Any]]:
    """Run every system once per round, in a new (seeded) random order each round: a system's speed
    depends on what ran just before it (after the fp32 rows the next one ran up to 25% slower here),
    so each follows different systems and the medians compare like with like."""
    out: dict[str, dict[str, Any]] = {name: {"seconds": []} for name in systems}
    for r in range(rounds):
        names = list(systems)
        random.Random(r).shuffle(names)
        for name in names:
            t0 = time.perf_counter()
            out[name]["result"] = systems[name]()
            out[name]["seconds"].append(time.perf_counter() - t0)
    return out


def token_counts(clf: EventClassifier, joined: list[str], texts: list[str], titles: list[str]) -> dict[str, int]:
    """Non-padding tokens each system feeds the encoder: the pipeline's (``joined`` = title + text,
    cut at the tokenizer's limit as the pipeline cuts it), defsum's windows over whole articles,
    and defsum's first windows only (all a model with first-window aggregation scores)."""
    pipeline = sum(len(ids) for ids in clf.tokenizer(joined, truncation=True)["input_ids"])
    wins = [clf.windows(t, h).input_ids for t, h in zip(texts, titles)]
    first = sum(len(w[0]) for w in wins)
    windows = first if clf.config["aggregation"] == "first" else sum(len(ids) for w in wins for ids in w)
    return {"pipeline": pipeline, "windows": windows, "first_window": first}


def per_token_ratio(base_seconds: float, seconds: float, tokens: int, base_tokens: int) -> float:
    """How many times faster per token a run is than the baseline run.

    >>> per_token_ratio(2.0, 1.0, 120, 100)  # twice as fast per article, on 20% more tokens
    2.4
    """
    return round(base_seconds / seconds * tokens / base_tokens, 2)


@functools.cache
def load_classifier(model: str | None, precision: str, token_pruning: bool = True) -> EventClassifier:
    """A classifier loaded once per model, precision and pruning switch in this process (the systems and
    the report share it)."""
    return EventClassifier.from_pretrained(model, precision=precision, token_pruning=token_pruning)


@functools.cache
def load_summarizer(model: str | None, precision: str) -> Summarizer:
    """A summariser loaded once per model and precision in this process."""
    return Summarizer.from_pretrained(model, precision=precision)


Systems = dict[str, Callable[[], Callable[[], Any]]]
"""Each system's name -> a loader that loads its models and returns the call that scores the articles."""


def classify_systems(model: str | None, rows: list[dict], batch_size: int, window_batches: Sequence[int] = ()) -> Systems:
    """The classify-only systems: the pipeline at batch 1 and ``batch_size``, defsum at each
    precision (and ONNX Runtime int8 when installed), defsum bf16 at other windows per pass, and
    defsum reading only first windows. Models are loaded once, when a loader first needs them."""
    from transformers import pipeline

    texts, titles = [r["text"] for r in rows], [r["title"] for r in rows]
    joined = [f"{h}\n\n{t}" for h, t in zip(titles, texts)]
    def clf(p: str) -> EventClassifier:
        return load_classifier(model, p)

    @functools.cache
    def pipe() -> Any:
        folder = resolve_model_path(model, "classifier")
        return pipeline("text-classification", model=folder, tokenizer=folder, function_to_apply="sigmoid", top_k=None,
                        device="cpu", model_kwargs={"dtype": torch.float32})

    def piped(b: int) -> Callable[[], Any]:
        p = pipe()
        return lambda: p(joined, truncation=True, batch_size=b)

    def defsum(p: str, **kw: Any) -> Callable[[], Any]:
        c = clf(p)
        return lambda: c.predict(texts, titles=titles, **kw)

    def every_token(p: str) -> Callable[[], Any]:
        # The default without the model's token pruning (defsum.token_pruning): what dropping tokens saves.
        c = load_classifier(model, p, token_pruning=False)
        return lambda: c.predict(texts, titles=titles)

    def onnx() -> Callable[[], Any]:
        c = EventClassifier.from_pretrained(model, backend="onnxruntime")
        return lambda: c.predict(texts, titles=titles)

    def full_last_layer(p: str) -> Callable[[], Any]:
        # The default without defsum.first_token (its own copy of the model): every position of the
        # last layer computed, as the pipeline does, to measure what computing only the first saves.
        c = EventClassifier.from_pretrained(model, precision=p)
        run_every_position(c.model)
        return lambda: c.predict(texts, titles=titles)

    def first_only(p: str) -> Callable[[], Any]:
        # The fast path reading only each article's first window, as the pipeline reads only its
        # first 512 tokens: how much of the gap to the pipeline is the work of reading whole articles.
        c = clf(p)
        f = EventClassifier(c.model, c.tokenizer, {**c.config, "max_windows": 1}, p, c.primary_head, c.lexical_head)
        return lambda: f.predict(texts, titles=titles)

    systems: Systems = {"transformers pipeline (batch 1, truncation)": lambda: piped(1),
                        f"transformers pipeline (batch {batch_size}, truncation)": lambda: piped(batch_size)}
    for p in ("fp32", "bf16", "int8"):
        systems[f"defsum {p} (windows, length-sorted)"] = functools.partial(defsum, p)
    default = default_precisions()[0]
    systems[f"defsum {default}, every position of the last layer"] = functools.partial(full_last_layer, default)
    if applies(load_defsum_config(resolve_model_path(model, "classifier"), CLASSIFIER_DEFAULTS)["token_pruning"], default):
        systems[f"defsum {default}, every token (no token pruning)"] = functools.partial(every_token, default)
    if importlib.util.find_spec("onnx") and importlib.util.find_spec("onnxruntime"):
        systems["onnxruntime int8 (defsum windows, length-sorted)"] = onnx
    else:
        print("skipping the ONNX Runtime row (onnx or onnxruntime is not installed)", file=sys.stderr)
    for wb in window_batches:
        systems[f"defsum bf16, {wb} windows per pass"] = functools.partial(defsum, "bf16", batch_size=wb)
    if load_defsum_config(resolve_model_path(model, "classifier"), CLASSIFIER_DEFAULTS)["aggregation"] != "first":  # else the default row
        for p in ("bf16", "int8"):
            systems[f"defsum {p}, first window only (truncation)"] = functools.partial(first_only, p)
    if _x86_int8() and int8_full_range():
        systems[REDUCED_RANGE] = functools.partial(torch_int8_layers, model, texts, titles)
    return systems


REDUCED_RANGE = "defsum int8, torch's 128 input levels (reduce_range)"


def torch_int8_layers(model: str | None, texts: list[str], titles: list[str]) -> Callable[[], Any]:
    """int8 with torch's own dynamic linear layer, which quantises inputs to 128 levels: what
    defsum's 256-level layer (:class:`defsum.precision.FullRangeDynamicLinear`) is measured against."""
    c = with_torch_int8_layers(EventClassifier.from_pretrained(model, precision="int8"))
    return lambda: c.predict(texts, titles=titles)


def with_torch_int8_layers(clf: EventClassifier) -> EventClassifier:
    """``clf`` with its 256-level int8 layers turned back into torch's 128-level ones, in place."""
    for m in clf.model.modules():
        if isinstance(m, FullRangeDynamicLinear):
            m.__class__ = torch.ao.nn.quantized.dynamic.Linear
    return clf


def classify_benchmark(model: str | None, rows: list[dict], batch_size: int, rounds: int, window_batches: Sequence[int] = (),
                       memory: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Time :func:`classify_systems` alternately; ``memory`` (:func:`memory_of`) adds each row's peak."""
    systems = classify_systems(model, rows, batch_size, window_batches)
    res = run_alternately({name: load() for name, load in systems.items()}, rounds)
    texts, titles = [r["text"] for r in rows], [r["title"] for r in rows]
    joined = [f"{h}\n\n{t}" for h, t in zip(titles, texts)]
    fp32 = load_classifier(model, "fp32")  # already loaded for its row
    tokens = token_counts(fp32, joined, texts, titles)
    y = np.array(label_matrix(rows))
    labels = fp32.labels
    report: dict[str, Any] = {}
    base = statistics.median(res["transformers pipeline (batch 1, truncation)"]["seconds"])
    for name, r in res.items():
        sec = statistics.median(r["seconds"])
        n_tok = tokens["pipeline"] if name.startswith("transformers pipeline") else tokens["first_window" if "first window" in name else "windows"]
        entry = {"articles_per_s": round(len(rows) / sec, 2), "x_pipeline_batch1": round(base / sec, 2), **(memory or {}).get(name, {}),
                 "tokens": n_tok, "x_pipeline_batch1_per_token": per_token_ratio(base, sec, n_tok, tokens["pipeline"])}
        if not name.startswith("transformers pipeline"):
            yhat = np.array([[int(l in p.labels) for l in labels] for p in r["result"]])
            entry["macro_f1"] = classification_metrics(y, yhat, labels)["macro_f1"]
        else:  # the pipeline's probabilities through defsum's temperature (and lexical head), at its thresholds
            probs = np.array([[{d["label"]: d["score"] for d in out}[l] for l in labels] for out in r["result"]])
            probs = apply_temperature(probs, fp32.config["temperature"])
            if fp32.lexical_head is not None:
                probs = fp32.lexical_head.mix(probs, texts, titles)
            entry["macro_f1_with_defsum_calibration"] = classification_metrics(y, (probs >= fp32.thresholds).astype(int), labels)["macro_f1"]
        report[name] = entry
    for p in ("fp32", "bf16", "int8"):  # does an article's result depend on what shares its batch?
        name = f"defsum {p} (windows, length-sorted)"
        report[name]["alone_vs_batched"] = alone_vs_batched(load_classifier(model, p), texts, titles, res[name]["result"])
    # how far each fast path (arithmetic, token pruning) moves the model's own results: against fp32
    # reading every token, untimed (first windows: truncation too, so not compared)
    exact_clf = load_classifier(model, "fp32", token_pruning=False)
    exact = exact_clf.predict(texts, titles=titles)
    exact_f1 = classification_metrics(y, np.array([[int(l in p.labels) for l in labels] for p in exact]), labels)["macro_f1"]
    for name, r in res.items():
        if not name.startswith("transformers pipeline") and "first window" not in name:
            report[name]["vs_defsum_fp32"] = agreement(r["result"], exact, labels)
    pb = f"transformers pipeline (batch {batch_size}, truncation)"
    best = statistics.median(res[pb]["seconds"])
    for name in report:
        report[name]["x_pipeline_batched"] = round(best / statistics.median(res[name]["seconds"]), 2)
    report["settings"] = {"articles": len(rows), "rounds": rounds, "pipeline_batch": batch_size, "window_batches": list(window_batches),
                          "default_precision": default_precisions()[0], "int8_256_input_levels": int8_full_range(),
                          "token_pruning": load_classifier(model, default_precisions()[0]).token_pruning,
                          "fp32_every_token_macro_f1": exact_f1}
    return report


def alone_vs_batched(clf: EventClassifier, texts: list[str], titles: list[str], batched: list[Any]) -> dict[str, Any]:
    """Each article scored alone against its score in the benchmark's batches: the largest
    probability change and how many articles' labels or primary event change. Dynamic int8 scales
    each layer's input per call, so its scores depend on the other windows in the batch."""
    alone = [clf.predict([t], titles=[h])[0] for t, h in zip(texts, titles)]
    return agreement(alone, batched, clf.labels)


def agreement(results: list[Any], reference: list[Any], labels: Sequence[str]) -> dict[str, Any]:
    """The largest probability change between two runs' predictions of the same articles, and how
    many articles get other labels or another primary event."""
    change = max(abs(a.scores[l] - b.scores[l]) for a, b in zip(results, reference) for l in labels)
    changed = sum(a.labels != b.labels or a.primary != b.primary for a, b in zip(results, reference))
    return {"max_probability_change": round(change, 4), "articles_with_other_labels_or_primary": changed}


PLAIN = "pipeline (classify, batch 1) + model.generate per article"
EXTRACTIVE = "defsum, extractive briefs (--extractive, no seq2seq decoding)"


def default_precisions() -> tuple[str, str]:
    """What "auto" means on this machine for the classifier and for the summariser."""
    return resolve_precision("auto", int8=True), resolve_precision("auto")


def default_summary_name() -> str:
    """The default row's name, with what "auto" means on this machine for each model."""
    clf, summ = default_precisions()
    return f"defsum {clf} (default)" if clf == summ else f"defsum default (classifier {clf}, summariser {summ})"


def summary_systems(classifier: str | None, summarizer: str | None, rows: list[dict], batch_size: int, beams: int) -> Systems:
    """Classify + summarise: the plain way (the pipeline, then ``generate`` per article with the
    same generation settings), defsum in fp32 and at its default precision, and defsum with
    extractive briefs (``--extractive``: the seq2seq model is not run). Each system returns
    ``(predictions, briefs)``."""
    from transformers import pipeline

    texts, titles = [r["text"] for r in rows], [r["title"] for r in rows]
    joined = [f"{h}\n\n{t}" for h, t in zip(titles, texts)]
    def clf(p: str) -> EventClassifier:
        return load_classifier(classifier, p)

    def summ(p: str) -> Summarizer:
        return load_summarizer(summarizer, p)

    def plain() -> Callable[[], Any]:
        # transformers 5 removed the "summarization" pipeline: the plain alternative a user writes
        # is tokenizer + model.generate, one article at a time, with the same generation settings.
        cfolder = resolve_model_path(classifier, "classifier")
        cpipe = pipeline("text-classification", model=cfolder, tokenizer=cfolder, function_to_apply="sigmoid", top_k=None,
                         device="cpu", model_kwargs={"dtype": torch.float32})
        s32 = summ("fp32")

        def run() -> Any:
            tags = cpipe(joined, truncation=True, batch_size=1)
            briefs = []
            with torch.inference_mode():
                for text in joined:
                    enc = s32.tokenizer(text, truncation=True, max_length=s32.config["max_source_tokens"], return_tensors="pt")
                    ids = s32.model.generate(**enc, num_beams=beams, max_new_tokens=s32.config["max_target_tokens"],
                                             no_repeat_ngram_size=s32.config["no_repeat_ngram_size"])  # the fp32 weights as loaded
                    briefs.append(s32.tokenizer.decode(ids[0], skip_special_tokens=True))
            return tags, briefs
        return run

    def fast(p: str, extractive: bool = False) -> Callable[[], Any]:
        c, s = clf(p), summ(p)
        return lambda: (c.predict(texts, titles=titles),
                        s.summarize(texts, titles=titles, batch_size=batch_size, num_beams=beams, extractive=extractive))

    return {PLAIN: plain, "defsum fp32": functools.partial(fast, "fp32"),
            default_summary_name(): functools.partial(fast, "auto"),
            EXTRACTIVE: functools.partial(fast, "auto", extractive=True)}


def summary_benchmark(classifier: str | None, summarizer: str | None, rows: list[dict], batch_size: int, rounds: int, beams: int,
                      memory: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Time :func:`summary_systems` alternately, with the ROUGE-L of each system's briefs (the
    fast path's accuracy cost) and how many extractive briefs are the default's."""
    from rouge_score import rouge_scorer

    res = run_alternately({name: load() for name, load in summary_systems(classifier, summarizer, rows, batch_size, beams).items()}, rounds)
    base = statistics.median(res[PLAIN]["seconds"])
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    refs = [r.get("brief") for r in rows]
    out = {}
    for name, r in res.items():
        out[name] = {"articles_per_s": round(len(rows) / statistics.median(r["seconds"]), 3),
                     "s_per_article": round(statistics.median(r["seconds"]) / len(rows), 3),
                     "x_pipeline": round(base / statistics.median(r["seconds"]), 2), **(memory or {}).get(name, {})}
        if name != PLAIN and all(refs):
            briefs = r["result"][1]
            out[name]["rougeL"] = round(100 * statistics.mean(scorer.score(ref, b)["rougeL"].fmeasure for ref, b in zip(refs, briefs)), 2)
    default_name = default_summary_name()
    out[EXTRACTIVE]["same_brief_as_default"] = sum(a == b for a, b in zip(res[EXTRACTIVE]["result"][1], res[default_name]["result"][1]))
    out["settings"] = {"articles": len(rows), "rounds": rounds, "beams": beams, "summary_batch": batch_size}
    return out


def memory_of(section: str, names: Sequence[str], argv: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Peak memory of each system alone: one child process per system (``--memory-child``) imports
    torch, loads that system's models and scores the articles once. Reports the resident memory
    once loaded and the peak resident memory of the whole process (``VmHWM``, loading included),
    so no row inherits what another row left in the allocator."""
    out = {}
    for name in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--memory-child", section, name]
        done = subprocess.run(cmd, capture_output=True, text=True)
        line = next((l for l in done.stdout.splitlines() if l.startswith("MEMORY ")), None)
        if done.returncode or line is None:
            raise RuntimeError(f"the memory run of {name!r} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        out[name] = json.loads(line[len("MEMORY "):])
    return out


def memory_child(load: Callable[[], Callable[[], Any]]) -> None:
    """Body of a ``--memory-child`` process: load one system, score once, print its memory."""
    run = load()
    loaded = rss_mb()
    run()
    print("MEMORY " + json.dumps({"rss_loaded_mb": round(loaded), "peak_rss_mb": round(rss_mb("VmHWM"))}), flush=True)


def stream_benchmark(sizes: list[int], classifier: str | None) -> dict[str, Any]:
    """Peak RSS of `defsum score --no-summary` on folders of N short files (one child process each)."""
    corpus = read_records("data/corpus/train.jsonl")
    out = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "in"
            folder.mkdir()
            for i in range(n):
                r = corpus[i % len(corpus)]
                (folder / f"a{i:06d}.txt").write_text(f"{r['title']}\n\n{' '.join(r['text'].split()[:60])} ({i})")
            cmd = [sys.executable, "-c",
                   "import sys; from defsum.cli import main; code=main(sys.argv[1:]); "
                   "print('MAXRSS', next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))); sys.exit(code)",
                   "score", str(folder), "-o", str(Path(tmp) / "out.jsonl"), "--no-summary", "-q", "--batch-size", "32"]
            if classifier:
                cmd += ["--classifier", classifier]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(Path.cwd())))
            seconds = time.perf_counter() - t0
            rss = [int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("MAXRSS")]
            lines = (Path(tmp) / "out.jsonl").read_text().count("\n")
            out[n] = {"peak_rss_mb": round(rss[0] / 1024) if rss else None, "records": lines, "seconds": round(seconds, 1), "exit": done.returncode}
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--data", default="data/corpus/test.jsonl", help="labelled articles to score")
    p.add_argument("--n", type=int, default=0, help="use only the first N articles (0 = all)")
    p.add_argument("--classifier", default=None, help="classifier folder (default: the shipped model)")
    p.add_argument("--summarizer", default=None, help="summariser folder for the classify+summarise comparison (default: the shipped model)")
    p.add_argument("--batch-size", type=int, default=16, help="the batched pipeline's batch size")
    p.add_argument("--window-batches", type=int, nargs="*", default=[],
                   help="also time defsum bf16 at these windows per pass (the default rows use defsum.classifier.WINDOW_BATCH)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds; the median is reported")
    p.add_argument("--beams", type=int, default=4, help="beams of every summariser in the classify+summarise comparison")
    p.add_argument("--skip-summary", action="store_true", help="time classification only (no classify+summarise comparison)")
    p.add_argument("--skip-classify", action="store_true", help="time classify+summarise only (keep the report's classify section)")
    p.add_argument("--summary-n", type=int, default=32, help="articles for the classify+summarise comparison")
    p.add_argument("--summary-batch", type=int, default=16, help="defsum's summary batch size")
    p.add_argument("--stream", type=int, nargs="*", default=None,
                   help="file counts for the streaming memory check (peak memory of `defsum score`); with it, nothing else is timed")
    p.add_argument("--out", default="eval/reports/benchmark.json",
                   help="JSON report to update: the sections this run measures replace those in the file, the others are kept "
                        "(default: %(default)s, the shipped report)")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the peak-memory runs (one child process per system, which load their models again)")
    p.add_argument("--memory-child", nargs=2, metavar=("SECTION", "SYSTEM"), help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    machine = f"{cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads"
    results: dict[str, Any] = {}
    if args.stream:
        results["streaming"] = stream_benchmark(args.stream, args.classifier)
    else:
        rows = read_records(args.data)
        rows = rows[: args.n] if args.n else rows
        srows = rows[: args.summary_n]
        csys = lambda: classify_systems(args.classifier, rows, args.batch_size, args.window_batches)  # noqa: E731
        ssys = lambda: summary_systems(args.classifier, args.summarizer, srows, args.summary_batch, args.beams)  # noqa: E731
        if args.memory_child:
            section, name = args.memory_child
            memory_child((csys() if section == "classify" else ssys())[name])
            return
        if not args.skip_classify:
            mem = None if args.no_memory else memory_of("classify", list(csys()), argv)
            results["classify"] = classify_benchmark(args.classifier, rows, args.batch_size, args.rounds, args.window_batches, mem)
        if not args.skip_summary:
            mem = None if args.no_memory else memory_of("summary", list(ssys()), argv)
            results["classify_and_summarise"] = summary_benchmark(args.classifier, args.summarizer, srows,
                                                                  args.summary_batch, args.rounds, args.beams, mem)
    for section in results.values():  # each section names the machine it ran on (a run may keep others)
        section["machine"] = machine
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    old.update(results)
    Path(args.out).write_text(json.dumps(old, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
