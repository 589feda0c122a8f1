"""Scoring streams of articles into output records, in input order, one record per article."""

from __future__ import annotations

import logging
from typing import Any, Iterable, Iterator

from defsum.io import Article

logger = logging.getLogger(__name__)

CHUNK_BATCHES = 4
"""Articles are read and written in chunks of this many model batches."""


def score_local(
    analyzer: Any, articles: Iterable[Article], batch_size: int, done: set[str]
) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """Yield ``(records, keys_already_done)`` for successive chunks of articles, in input order
    (``keys_already_done``: the keys of this chunk's articles found in ``done`` and not scored)."""
    chunk: list[Article] = []
    already: list[str] = []
    for article in articles:
        if article.key in done:
            already.append(article.key)
            continue
        chunk.append(article)
        if len(chunk) >= batch_size * CHUNK_BATCHES:
            yield analyze_chunk(analyzer, chunk, batch_size), already
            chunk, already = [], []
    if chunk or already:
        yield analyze_chunk(analyzer, chunk, batch_size), already


def analyze_chunk(analyzer: Any, chunk: list[Article], batch_size: int) -> list[dict[str, Any]]:
    """Records for a chunk of articles; a failure of one article never loses the others."""
    good = [a for a in chunk if a.error is None]
    results: dict[int, Any] = {}
    if good:
        try:
            briefs = analyzer.analyze([a.text for a in good], titles=[a.title for a in good], batch_size=batch_size,
                                      show_progress_bar=False, drop_furniture=False)  # done when the article was read
            results = {id(a): b for a, b in zip(good, briefs)}
        except Exception as err:  # one bad article must not sink the batch: retry one by one
            logger.warning("batch failed (%s); retrying articles one at a time", err)
            for a in good:
                try:
                    results[id(a)] = analyzer.analyze(a.text, titles=a.title, drop_furniture=False)
                except Exception as one:
                    a.error = f"scoring failed: {type(one).__name__}: {one}"
    return [to_record(a, results.get(id(a))) for a in chunk]


def to_record(article: Article, brief: Any | None) -> dict[str, Any]:
    """The output record of one article (``brief`` is None when it failed)."""
    record: dict[str, Any] = {
        "path": article.path, "id": article.id, "title": article.title, "labels": None, "scores": None,
        "primary": None, "summary": None, "error": article.error, "flags": list(article.flags),
        "encoding": article.encoding, "content_hash": article.content_hash,
    }
    if brief is not None:
        record.update(labels=brief.labels, scores=brief.scores, primary=brief.primary, summary=brief.summary)
        record["flags"] += [f for f in brief.flags if f not in record["flags"]]
        if brief.chunked:
            record["flags"].append("chunked")
    return record
