"""Reading and checking labelled records in the format of ``LABELS.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from defsum.labels import LABELS, NONE

REQUIRED = ("id", "title", "text", "date", "labels", "primary", "brief")


def check_record(record: Any, where: str) -> dict[str, Any]:
    """Return ``record`` if it follows the record format, else raise ``ValueError`` naming ``where``.

    >>> check_record({"id": "1", "title": "T", "text": "x", "date": None, "labels": [],
    ...               "primary": "none", "brief": "B."}, "f.jsonl:1")["id"]
    '1'
    """
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}")
    labels = record["labels"]
    if not isinstance(labels, list) or any(label not in LABELS for label in labels):
        raise ValueError(f"{where}: field 'labels' must be a list drawn from {list(LABELS)}, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{where}: field 'labels' repeats a label: {labels!r}")
    primary = record["primary"]
    if labels and primary not in labels:
        raise ValueError(f"{where}: field 'primary' is {primary!r}, which is not among labels {labels}")
    if not labels and primary != NONE:
        raise ValueError(f"{where}: field 'primary' must be 'none' when labels is empty, got {primary!r}")
    if not isinstance(record["text"], str) or not record["text"].strip():
        raise ValueError(f"{where}: field 'text' is empty")
    return record


def read_records(path: str | Path, *, check: bool = True) -> list[dict[str, Any]]:
    """Read a JSONL file of labelled records, checking each one.

    >>> records = read_records("data/corpus/train.jsonl")  # doctest: +SKIP
    """
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: invalid JSON: {err.msg}") from err
            out.append(check_record(record, f"{path}:{n}") if check else record)
    return out


def label_matrix(records: list[dict[str, Any]], labels: list[str] | tuple[str, ...] = LABELS) -> list[list[int]]:
    """The 0/1 label matrix of ``records`` (rows = records, columns = ``labels``).

    >>> label_matrix([{"labels": ["diplomacy"]}])
    [[0, 0, 1]]
    """
    return [[int(label in r["labels"]) for label in labels] for r in records]


def write_records(path: str | Path, records: list[dict[str, Any]]) -> None:
    """Write records as JSONL (UTF-8, one object per line)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
