"""Scoring on Ray Data: the same records as the local engine, with models loaded once per actor.

Needs ``pip install 'defsum[ray]'``. Point it at a cluster with ``--ray-address`` (or the
``RAY_ADDRESS`` environment variable, e.g. ``ray://head-node:10001``); the files must then be
readable at the same paths on every node (a shared file system). Without an address it starts a
local Ray instance with a bounded object store.

The pipeline streams: file paths -> ``flat_map`` (read, decode, split JSONL; one row per article
or error) -> ``map_batches`` on an actor pool that holds the models -> ordered rows back to the
writer, so memory stays flat however many files there are.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Iterator

from defsum.io import Article, ReadOptions, iter_files, read_articles
from defsum.scoring import analyze_chunk

logger = logging.getLogger(__name__)


class _Scorer:
    """A Ray actor: loads the models once, then scores batches of article rows."""

    def __init__(self, classifier: str | None, summarizer: str | None, summarize: bool, extractive: bool, backend: str,
                 batch_size: int, device: str = "cpu", precision: str = "auto", token_pruning: bool = True) -> None:
        from defsum.pipeline import Analyzer

        self.analyzer = Analyzer.from_pretrained(classifier, summarizer, summarize=summarize, extractive=extractive, backend=backend,
                                                 device=device, precision=precision, token_pruning=token_pruning)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Score the rows that carry an article; a row already done (no article) comes back as its
        key with an empty record."""
        todo = [i for i, article in enumerate(batch["article"]) if article]
        records = analyze_chunk(self.analyzer, [Article(**json.loads(batch["article"][i])) for i in todo], self.batch_size)
        out = [""] * len(batch["article"])
        for i, r in zip(todo, records):
            out[i] = json.dumps(r)
        return {"record": out, "key": list(batch["key"])}


def actor_device(device: str) -> tuple[str, int | None]:
    """The device an actor loads the models on, and the GPUs it asks Ray for. Ray hides every GPU
    from an actor that asks for none, and shows one that asks for one only its own GPU: a CUDA
    device becomes that GPU ("cuda"; Ray picks which, so an index is dropped).

    >>> actor_device("cuda:1"), actor_device("cpu")
    (('cuda', 1), ('cpu', None))
    """
    return ("cuda", 1) if device.split(":")[0] == "cuda" else (device, None)


def _reader(options: ReadOptions, done: set[str]) -> Any:
    def read(row: dict[str, Any]) -> list[dict[str, Any]]:
        path, problem = row["path"], row["problem"]
        arts = [Article(path, Path(path).stem, error=problem)] if problem else list(read_articles([path], options))
        # An article already in the output travels on as its key only, so the files are read once.
        return [{"article": "" if a.key in done else json.dumps(asdict(a)), "key": a.key} for a in arts]

    return read


def score_with_ray(
    paths: Iterable[str],
    options: ReadOptions,
    done: set[str],
    *,
    classifier: str | None,
    summarizer: str | None,
    summarize: bool,
    batch_size: int,
    extractive: bool = False,
    backend: str = "torch",
    device: str = "cpu",
    precision: str = "auto",
    token_pruning: bool = True,
    address: str | None = None,
    actors: int = 1,
    object_store_mb: int = 512,
) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """Yield ``(records, keys_already_done)`` batch by batch, in input order, like ``score_local``;
    each actor loads the models on ``device`` (as ``--device``; a CUDA device: one GPU per actor, :func:`actor_device`)."""
    try:
        import ray
    except ImportError as err:
        raise ValueError("the Ray engine needs Ray Data: pip install 'defsum[ray]'") from err

    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {"address": address, "ignore_reinit_error": True, "include_dashboard": False,
                                  "log_to_driver": False}
        if not address:
            kwargs["object_store_memory"] = object_store_mb * 1024 * 1024
        ray.init(**kwargs)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    files = [{"path": str(p), "problem": problem} for p, problem in iter_files(paths, options.follow_symlinks)]
    if not files:
        return
    rows = ray.data.from_items(files).flat_map(_reader(options, done))
    device, gpus = actor_device(device)
    scored = rows.map_batches(
        _Scorer, fn_constructor_kwargs={"classifier": classifier, "summarizer": summarizer, "summarize": summarize,
                                        "extractive": extractive, "backend": backend, "batch_size": batch_size,
                                        "device": device, "precision": precision, "token_pruning": token_pruning},
        batch_size=batch_size, concurrency=actors, num_gpus=gpus, batch_format="numpy",
    )
    for batch in scored.iter_batches(batch_size=batch_size * 4, batch_format="numpy"):
        yield ([json.loads(r) for r in batch["record"] if r],
               [str(k) for r, k in zip(batch["record"], batch["key"]) if not r])
