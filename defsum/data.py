"""Reading and checking labelled records in the format of ``LABELS.md``."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from pathlib import Path
from typing import Any

from defsum.io import csv_field_limit
from defsum.labels import LABELS, NONE

REQUIRED = ("id", "title", "text", "date", "labels", "primary", "brief")


def check_record(record: Any, where: str, *, text_field: str = "text", labels_field: str = "labels",
                 full: bool = True) -> dict[str, Any]:
    """Return ``record`` if it follows the record format, else raise ``ValueError`` naming ``where``.

    ``full``: every LABELS.md field must be there; otherwise (a user's own data, with its own
    field names), only the text and labels fields are required, and ``primary`` is checked if present.

    >>> check_record({"id": "1", "title": "T", "text": "x", "date": None, "labels": [],
    ...               "primary": "none", "brief": "B."}, "f.jsonl:1")["id"]
    '1'
    """
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in (REQUIRED if full else (text_field, labels_field)) if k not in record]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing} (fields: {sorted(record)[:10]})")
    labels = record[labels_field]
    if not isinstance(labels, list) or any(label not in LABELS for label in labels):
        raise ValueError(f"{where}: field {labels_field!r} must be a list drawn from {list(LABELS)}, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{where}: field {labels_field!r} repeats a label: {labels!r}")
    if full or "primary" in record:
        primary = record["primary"]
        if labels and primary not in labels:
            raise ValueError(f"{where}: field 'primary' is {primary!r}, which is not among labels {labels}")
        if not labels and primary != NONE:
            raise ValueError(f"{where}: field 'primary' must be 'none' when labels is empty, got {primary!r}")
    if not isinstance(record[text_field], str) or not record[text_field].strip():
        raise ValueError(f"{where}: field {text_field!r} is empty")
    return record


def read_records(path: str | Path, *, check: bool = True, text_field: str = "text", labels_field: str = "labels",
                 full: bool = True) -> list[dict[str, Any]]:
    """Read a JSONL file of labelled records, checking each one (:func:`check_record`). A file
    ending in ``.csv`` or ``.tsv`` is read as a table with a header row, which needs only the text
    and labels columns whatever ``full`` says (:func:`parse_labels` reads its labels cells).

    >>> records = read_records("data/corpus/train.jsonl")  # doctest: +SKIP
    """
    if Path(path).suffix.lower() in (".csv", ".tsv"):  # a table needs only its text and labels columns
        rows = _read_table(path, labels_field, parse=check)
        return [check_record(r, f"{path}:{n}", text_field=text_field, labels_field=labels_field, full=False) if check else r
                for n, r in rows]
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: invalid JSON: {err.msg} (one JSON object per line expected)") from err
            where = f"{path}:{n}"
            if not isinstance(record, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__} (one JSON object per line expected)")
            out.append(check_record(record, where, text_field=text_field, labels_field=labels_field, full=full) if check else record)
    return out


def parse_labels(value: str, where: str = "labels") -> list[str]:
    """The labels of a table cell: a JSON list, or names separated by ``;``, ``,``, ``|`` or
    spaces, in any case; an empty cell or ``none`` is no label.

    >>> parse_labels("Provocation; diplomacy"), parse_labels('["diplomacy"]'), parse_labels("None")
    (['provocation', 'diplomacy'], ['diplomacy'], [])
    """
    text = value.strip()
    if text.startswith("["):
        try:
            labels = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: labels {value!r} start like a JSON list but are not one ({err.msg})") from err
    else:
        labels = [x for x in re.split(r"[;,|\s]+", text) if x]
    labels = [x.strip().lower() if isinstance(x, str) else x for x in labels]
    return [] if labels == [NONE] else labels


def _read_table(path: str | Path, labels_field: str = "labels", parse: bool = True) -> list[tuple[int, dict[str, Any]]]:
    """``(line, record)`` for each row of a CSV or TSV file, ``line`` being where the row starts.

    Header names are stripped; a ``.csv`` whose header holds ``;`` and no ``,`` is read as
    semicolon-separated (as Excel writes it in much of Europe). An empty cell is None; an empty
    ``primary`` or ``known_labels`` cell is left out. ``parse``: read the labels, ``known_labels``
    and ``primary`` cells as label names (:func:`parse_labels`).
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save the sheet as UTF-8 "
                         "(in Excel: 'CSV UTF-8')") from err
    first = text.split("\n", 1)[0]
    kind = "TSV" if Path(path).suffix.lower() == ".tsv" else "CSV"
    delimiter = "\t" if kind == "TSV" else ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    out = []
    try:
        with csv_field_limit(len(text) + 1):  # a cell may hold a whole article
            header = [h.strip() for h in next(reader, [])]
            repeated = sorted({h for h in header if h and header.count(h) > 1})
            if repeated:
                raise ValueError(f"{path}:1: the header repeats column(s) {repeated}; name each column once")
            while (row := next(reader, None)) is not None:
                start = reader.line_num - sum(cell.count("\n") for cell in row)  # a cell may span lines
                while len(row) > len(header) and not row[-1].strip():
                    row.pop()  # empty cells past the header's columns (a trailing separator)
                if not any(cell.strip() for cell in row):
                    continue  # a blank line
                where = f"{path}:{start}"
                if len(row) != len(header):
                    raise ValueError(f"{where}: {len(row)} cells where the header has {len(header)} columns {header}"
                                     + (" (quote a cell that holds the separator)" if len(row) > len(header) else ""))
                record: dict[str, Any] = {k: v if v.strip() else None for k, v in zip(header, row) if k}
                for k in ("primary", "known_labels"):  # optional: an empty cell is no value
                    if record.get(k) is None:
                        record.pop(k, None)
                if parse:
                    for k in (labels_field, "known_labels"):
                        if k in record:
                            record[k] = parse_labels(record[k] or "", f"{where}: field {k!r}")
                    if isinstance(record.get("primary"), str):
                        record["primary"] = record["primary"].strip().lower()
                out.append((start, record))
    except csv.Error as err:
        raise ValueError(f"{path}:{reader.line_num}: not readable as {kind} ({err})") from err
    return out


def label_matrix(records: list[dict[str, Any]], labels: list[str] | tuple[str, ...] = LABELS) -> list[list[int]]:
    """The 0/1 label matrix of ``records`` (rows = records, columns = ``labels``).

    >>> label_matrix([{"labels": ["diplomacy"]}])
    [[0, 0, 1]]
    """
    return [[int(label in r["labels"]) for label in labels] for r in records]



def known_labels(record: dict[str, Any], labels: list[str] | tuple[str, ...] = LABELS) -> list[bool]:
    """For each of ``labels``, whether ``record`` speaks for it: all of them, unless the record names
    its ``known_labels`` (``training/weak_labels.py --news-negatives`` writes news stories known to
    be negatives for elite_defection only). Training and the baselines leave the others out of the fit.

    >>> known_labels({"labels": []}), known_labels({"labels": [], "known_labels": ["elite_defection"]})
    ([True, True, True], [True, False, False])
    """
    known = record.get("known_labels", list(labels))
    if not isinstance(known, list) or not known or any(label not in labels for label in known):
        raise ValueError(f"record {record.get('id')!r}: 'known_labels' must be a non-empty list drawn from {list(labels)}, got {known!r}")
    return [label in known for label in labels]

def write_records(path: str | Path, records: list[dict[str, Any]]) -> None:
    """Write records as JSONL (UTF-8, one object per line)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


HOLDOUT_BUCKETS = 10
"""Shared pair sets are split by ``sha1(id) % 10``: bucket 0 is held out for evaluation and never
trained on; bucket 1 is the validation slice of the sentence ranker (and of the summariser's
training script when it is given no --dev); the rest is for training."""


def id_bucket(record_id: Any, buckets: int = HOLDOUT_BUCKETS) -> int:
    """The bucket of a record id: ``sha1(str(id)) % buckets``.

    >>> id_bucket("inshorts-0")
    7
    """
    return int(hashlib.sha1(str(record_id).encode("utf-8")).hexdigest(), 16) % buckets


def is_held_out(record_id: Any) -> bool:
    """True for the records of bucket 0, which no training script trains on."""
    return id_bucket(record_id) == 0


def _parse_buckets(value: str, where: str) -> set[int]:
    out: set[int] = set()
    for part in value.replace("+", " ").split():
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(f"{where}: buckets={value!r}; use numbers and ranges such as 0, 1 or 2-9")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def read_pairs(
    path: str | Path,
    *,
    text: str = "text",
    title: str | None = "title",
    reference: str = "brief",
    id: str = "id",
    filter: str | None = None,
    buckets: str | None = None,
    limit: int | None = None,
    skip_empty: bool = False,
) -> list[dict[str, Any]]:
    """Read article-reference pairs ``{"id", "text", "title", "reference"}`` from any JSONL (or a
    CSV/TSV table with a header row).

    ``title``: a field, ``"@firstline"`` (the text's first line is the title) or None/"" (no
    title). ``filter="source=cnndm"`` keeps matching records; ``buckets="0"`` (or "1", "2-9")
    keeps the records whose :func:`id_bucket` is listed; ``limit`` samples that many (seed 0). A
    record without text or reference is an error naming the file, record and field, unless
    ``skip_empty`` (then it is left out).

    >>> pairs = read_pairs("../shared/data/summaries/inshorts.jsonl", text="document",
    ...                    title="headline", reference="summary", buckets="0")  # doctest: +SKIP
    """
    keep = _parse_buckets(str(buckets), str(path)) if buckets is not None else None
    rows: list[tuple[int, dict[str, Any]]] = []
    if Path(path).suffix.lower() in (".csv", ".tsv"):
        rows = _read_table(path, parse=False)
    else:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{n}: invalid JSON: {err.msg}") from err
    if filter:
        key, _, value = filter.partition("=")
        rows = [(n, r) for n, r in rows if str(r.get(key)) == value]
    if keep is not None:
        missing = next((n for n, r in rows if r.get(id) in (None, "")), None)
        if missing is not None:
            raise ValueError(f"{path}:{missing}: no {id!r} field, which buckets= splits on; name the id field with id=FIELD")
        rows = [(n, r) for n, r in rows if id_bucket(r[id]) in keep]
    out = []
    for n, r in rows:
        body, ref = r.get(text), r.get(reference)
        head = None
        if title == "@firstline" and isinstance(body, str):
            first, _, rest = body.strip().partition("\n")
            head, body = first.strip(), rest.strip()
        elif title:
            head = r.get(title)
        bad = next((f for f, v in ((text, body), (reference, ref)) if not isinstance(v, str) or not v.strip()), None)
        if bad is not None:
            if skip_empty:
                continue
            what = "no text after its first (title) line" if bad == text and title == "@firstline" else "no text"
            raise ValueError(f"{path}:{n}: record (id {r.get(id, '?')}) has {what} in field {bad!r}")
        out.append({"id": r.get(id), "text": body, "title": head, "reference": ref})
    if limit and len(out) > limit:
        out = random.Random(0).sample(out, limit)
    return out


PAIR_SPEC_KEYS = ("name", "text", "reference", "title", "id", "filter", "buckets", "heldout", "limit", "weight")


def parse_pair_spec(spec: str, **defaults: Any) -> dict[str, Any]:
    """Parse ``PATH[,name=N][,text=F][,reference=F][,title=F|@firstline][,id=F][,filter=F=V]
    [,buckets=0|1|2-9][,heldout=1][,limit=N][,weight=W]`` (``heldout=1`` means ``buckets=0``).

    >>> parse_pair_spec("data/x.jsonl,title=headline,heldout=1")["buckets"]
    '0'
    """
    parts = spec.split(",")
    out: dict[str, Any] = {"path": parts[0], "name": None, "text": "document", "reference": "summary",
                           "title": None, "id": "id", "filter": None, "buckets": None, "heldout": False, "limit": None,
                           "weight": 1.0}
    out.update(defaults)
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if not eq or key not in PAIR_SPEC_KEYS:
            raise ValueError(f"bad data spec {spec!r}: {part!r} is not one of {', '.join(k + '=...' for k in PAIR_SPEC_KEYS)}")
        out[key] = value
    if str(out["heldout"]).lower() in {"1", "true", "yes"}:
        if out["buckets"] not in (None, "0"):
            raise ValueError(f"bad data spec {spec!r}: heldout=1 means buckets=0; give one or the other")
        out["buckets"] = "0"
    out["limit"] = int(out["limit"]) if out["limit"] else None
    out["weight"] = float(out["weight"])
    if not out["name"]:  # the file, with what selects from it: "frank_cnndm_xsum[source=cnndm,buckets=1]"
        picks = ",".join(f"{k}={out[k]}" for k in ("filter", "buckets") if out[k])
        out["name"] = Path(parts[0]).stem + (f"[{picks}]" if picks else "")
    return out


def read_pair_spec(spec: dict[str, Any], *, skip_empty: bool = False) -> list[dict[str, Any]]:
    """The pairs a parsed spec names (see :func:`parse_pair_spec` and :func:`read_pairs`)."""
    return read_pairs(spec["path"], text=spec["text"], title=spec["title"], reference=spec["reference"], id=spec["id"],
                      filter=spec["filter"], buckets=spec["buckets"], limit=spec["limit"], skip_empty=skip_empty)


def copies_of_other_buckets(spec: dict[str, Any], rows: list[dict[str, Any]]) -> set[str]:
    """Ids of ``rows`` (the pairs ``spec`` names) whose text is a near-copy (:func:`near_copies`)
    of a record of the same file in a bucket the spec leaves out: a training slice (``buckets=2-9``)
    must not hold copies of the held-out and validation records under other ids. Empty when the
    spec takes every bucket.

    >>> copies_of_other_buckets(parse_pair_spec("in.jsonl,buckets=2-9"), rows)  # doctest: +SKIP
    {'bbc-train-41'}
    """
    if spec.get("buckets") is None or not rows:
        return set()
    others = sorted(set(range(HOLDOUT_BUCKETS)) - _parse_buckets(str(spec["buckets"]), str(spec["path"])))
    if not others:
        return set()
    left_out = read_pair_spec({**spec, "buckets": " ".join(map(str, others)), "limit": None}, skip_empty=True)
    return set(near_copies(rows, left_out))


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))} if words else set()


def near_copies(rows: list[dict[str, Any]], training: list[dict[str, Any]], jaccard: float = 0.3, containment: float = 0.5) -> list[str]:
    """Ids of ``rows`` whose text is a (near-)copy of the text of a record in ``training``: word
    5-gram Jaccard >= ``jaccard``, or >= ``containment`` of the shorter text's 5-grams in the other.
    An item held out by its id is still trained on when a copy sits under another id: CNS lists one
    entry per missile of a salvo with the same description, and KCNA republishes stories.

    >>> near_copies([{"id": "a", "text": "Two missiles were fired into the sea on Monday morning."}],
    ...             [{"id": "b", "text": "Two missiles were fired into the sea on Monday morning, officials said."}])
    ['a']
    """
    index: dict[tuple[str, ...], list[int]] = {}
    grams = [_shingles(r["text"]) for r in training]
    for k, g in enumerate(grams):
        for x in g:
            index.setdefault(x, []).append(k)
    out = []
    for r in rows:
        mine = _shingles(r["text"])
        shared: dict[int, int] = {}
        for x in mine:
            for k in index.get(x, ()):
                shared[k] = shared.get(k, 0) + 1
        for k, both in shared.items():
            union = len(mine) + len(grams[k]) - both
            if both / union >= jaccard or both / min(len(mine), len(grams[k])) >= containment:
                out.append(r["id"])
                break
    return out
