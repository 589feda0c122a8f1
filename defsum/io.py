"""Reading article folders into ``Article`` records, and writing result records safely."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json", ".jsonl")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES
FIELDS = ("path", "id", "title", "labels", "scores", "primary", "summary", "error", "flags", "encoding", "content_hash")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_ENGLISH = frozenset(
    "the of and to in a is that for on was with by as at from it said has have be were are an "
    "will its his their after which had not this but who been or they".split()
)


@dataclass
class Article:
    """One article read from disk, or the reason it could not be read (``error``)."""

    path: str
    id: str
    title: str | None = None
    text: str | None = None
    error: str | None = None
    encoding: str | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        """A short SHA-256 of the title and text (or of the error), used by ``--resume``."""
        body = f"{self.title or ''}\n{self.text if self.text is not None else self.error}"
        return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @property
    def key(self) -> str:
        """What identifies this article across runs: path, id and content hash."""
        return f"{self.path}\t{self.id}\t{self.content_hash}"


@dataclass(frozen=True)
class ReadOptions:
    """How to read articles: JSON field names, the size limit and symlink policy."""

    text_field: str = "text"
    title_field: str = "title"
    id_field: str = "id"
    max_bytes: int = 1_000_000
    oversize: str = "truncate"  # "truncate": score the first max_bytes; "error": record an error
    follow_symlinks: bool = False

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.oversize not in ("truncate", "error"):
            raise ValueError(f"oversize must be 'truncate' or 'error', got {self.oversize!r}")


# ---------------------------------------------------------------------- finding files
def iter_files(paths: Iterable[str | Path], follow_symlinks: bool = False) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(file, problem)`` for every article file under ``paths``, in sorted order.

    A problem (a symlink not followed, a loop, a missing path) comes back as a string
    instead of raising, so the caller can write a record for it.
    """
    for root in paths:
        root = Path(root)
        if root.is_symlink() and not follow_symlinks and root.is_dir():
            yield root, "skipped: symbolic link not followed (pass --follow-symlinks)"
        elif root.is_dir():
            yield from _walk(root, follow_symlinks, {root.resolve()})
        elif root.is_file():
            yield root, None
        elif root.is_symlink():
            yield root, "broken or looping symbolic link"
        else:
            yield root, "no such file or folder"


def _walk(folder: Path, follow: bool, seen: set[Path]) -> Iterator[tuple[Path, str | None]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        yield folder, f"cannot list folder: {err.strerror or err}"
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            if not path.exists():
                yield path, "broken or looping symbolic link"
                continue
            if not follow:
                if path.is_dir() or path.suffix.lower() in SUFFIXES:
                    yield path, "skipped: symbolic link not followed (pass --follow-symlinks)"
                continue
            if path.is_dir() and path.resolve() in seen:
                yield path, "skipped: symbolic link loop"
                continue
        if path.is_dir():
            yield from _walk(path, follow, seen | {path.resolve()})
        elif path.suffix.lower() in SUFFIXES:
            yield path, None if path.is_file() else "skipped: not a regular file"


# ---------------------------------------------------------------------- reading
def read_articles(paths: Iterable[str | Path], options: ReadOptions | None = None) -> Iterator[Article]:
    """Yield one ``Article`` per article found under ``paths`` (one per JSONL line).

    Files that cannot be read or parsed yield an ``Article`` with ``error`` set.

    >>> for a in read_articles(["examples/articles"]):  # doctest: +SKIP
    ...     print(a.path, a.title)
    """
    opts = options or ReadOptions()
    for path, problem in iter_files(paths, opts.follow_symlinks):
        if problem is not None:
            yield Article(str(path), path.stem, error=problem)
            continue
        try:
            yield from _read_file(path, opts)
        except OSError as err:
            yield Article(str(path), path.stem, error=f"cannot read file: {err.strerror or err}")


def _read_file(path: Path, opts: ReadOptions) -> Iterator[Article]:
    with open(path, "rb") as fh:
        data = fh.read(opts.max_bytes + 1)
    flags: list[str] = []
    if len(data) > opts.max_bytes:
        if opts.oversize == "error":
            yield Article(str(path), path.stem, error=f"file is larger than the limit of {opts.max_bytes} bytes (--max-bytes)")
            return
        data = data[: opts.max_bytes]
        flags.append("truncated_input")
    if not data.strip():
        yield Article(str(path), path.stem, error="empty file")
        return
    text, encoding = decode_bytes(data)
    if text is None:
        yield Article(str(path), path.stem, error=encoding)
        return
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        yield _from_html(path, text, encoding, flags)
    elif suffix == ".json":
        yield from _from_json(path, text, encoding, flags, opts)
    elif suffix == ".jsonl":
        yield from _from_jsonl(path, text, encoding, flags, opts)
    else:
        title, body = split_title(text, markdown=suffix == ".md")
        yield _article(str(path), path.stem, title, body, encoding, flags)


def decode_bytes(data: bytes) -> tuple[str | None, str]:
    """Decode ``data`` to text and name its encoding, or return ``(None, reason)``.

    >>> decode_bytes("café".encode("latin-1"))
    ('café', 'cp1252')
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                return None, f"invalid {name} text after a byte-order mark"
    try:
        text, name = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, name = None, ""
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None and best.encoding.startswith(("utf_16", "utf_32")) and b"\x00" not in data:
            best = None  # UTF-16/32 text without a byte-order mark has NUL bytes; short cp1252 text can fool the detector
        if best is not None and "\x00" not in str(best):
            text, name = str(best), best.encoding
        elif b"\x00" not in data:
            text, name = data.decode("cp1252", errors="replace"), "cp1252"
    if text is None or _looks_binary(text):
        return None, "binary file: not text in any known encoding"
    if name in ("windows_1252", "latin_1", "iso8859_1"):
        name = "cp1252" if name == "windows_1252" else "latin-1"
    return text, name


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f\v")
    return "\x00" in sample or control > max(8, len(sample) // 50)


def split_title(text: str, markdown: bool = False) -> tuple[str | None, str]:
    """Take a short first line followed by a blank line as the title.

    >>> split_title("Missile launch\\n\\nNorth Korea fired ...")
    ('Missile launch', 'North Korea fired ...')
    """
    text = text.strip()
    first, _, rest = text.partition("\n")
    head = first.strip().lstrip("#").strip() if markdown else first.strip()
    if head and len(head) <= 200 and rest.strip() and (rest.startswith("\n") or first.startswith("#")):
        return head, rest.strip()
    return None, text


def _from_html(path: Path, html: str, encoding: str, flags: list[str]) -> Article:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True)
    except Exception as err:  # trafilatura raises many kinds on broken markup
        return Article(str(path), path.stem, error=f"HTML could not be parsed: {type(err).__name__}: {err}")
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        return Article(str(path), path.stem, error="no main text found in the HTML")
    return _article(str(path), path.stem, getattr(doc, "title", None), body, encoding, flags)


def _from_json(path: Path, text: str, encoding: str, flags: list[str], opts: ReadOptions) -> Iterator[Article]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        yield Article(str(path), path.stem, error=f"invalid JSON: {err}")
        return
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items, 1):
        yield _from_object(path, item, f"{path.stem}:{n}" if isinstance(data, list) else path.stem, encoding, flags, opts, f"item {n}")


def _from_jsonl(path: Path, text: str, encoding: str, flags: list[str], opts: ReadOptions) -> Iterator[Article]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            yield Article(str(path), f"{path.stem}:{n}", error=f"line {n}: invalid JSON: {err.msg} (column {err.colno})")
            continue
        yield _from_object(path, item, f"{path.stem}:{n}", encoding, flags, opts, f"line {n}")


def _from_object(path: Path, item: Any, default_id: str, encoding: str, flags: list[str], opts: ReadOptions, where: str) -> Article:
    if not isinstance(item, dict):
        return Article(str(path), default_id, error=f"{where}: expected a JSON object, got {type(item).__name__}")
    ident = str(item.get(opts.id_field) or default_id)
    body = item.get(opts.text_field)
    if not isinstance(body, str):
        found = ", ".join(sorted(map(str, item))[:10])
        what = "no" if body is None else f"a non-string ({type(body).__name__})"
        return Article(str(path), ident, error=f"{where}: {what} {opts.text_field!r} field (fields: {found}); set --text-field")
    title = item.get(opts.title_field)
    return _article(str(path), ident, title if isinstance(title, str) else None, body, encoding, flags)


def _article(path: str, ident: str, title: str | None, body: str, encoding: str, flags: list[str]) -> Article:
    body = body.replace("\r\n", "\n").strip()
    title = " ".join(title.split()) if title else None
    if not body:
        return Article(path, ident, title=title, error="no article text (empty after reading)", encoding=encoding)
    extra = [] if looks_english(body) else ["non_english"]
    return Article(path, ident, title or None, body, encoding=encoding, flags=[*flags, *extra])


def looks_english(text: str) -> bool:
    """A cheap check: do common English function words make up a normal share of the words?

    >>> looks_english("The minister said that the talks would resume in Geneva.")
    True
    """
    words = re.findall(r"[^\W\d_]+", text[:5000].lower())
    if len(words) < 5:
        return True
    return sum(w in _ENGLISH for w in words) / len(words) >= 0.12


# ---------------------------------------------------------------------- writing
class RecordWriter:
    """Append result records to a JSONL or CSV file, each written whole and flushed.

    With ``resume=True`` an existing file is kept: a torn last line (from a killed run) is
    cut off, and ``done`` holds the keys of articles already written, so they can be skipped.

    >>> with RecordWriter("out.jsonl") as w:  # doctest: +SKIP
    ...     w.write([{"path": "a.txt", "id": "a", ...}])
    """

    def __init__(self, path: str | Path, *, resume: bool = False, fmt: str | None = None) -> None:
        self.path = Path(path)
        self.fmt = fmt or ("csv" if self.path.suffix.lower() == ".csv" else "jsonl")
        if self.fmt not in ("jsonl", "csv"):
            raise ValueError(f"output format must be jsonl or csv, got {self.fmt!r}")
        self.done: set[str] = set()
        if resume and self.path.exists():
            self._repair_and_load()
        self._fh = open(self.path, "a" if resume else "w", encoding="utf-8", newline="")
        if self.fmt == "csv" and self._fh.tell() == 0:
            self._fh.write(_csv_line(list(FIELDS)))
            self._fh.flush()

    def _repair_and_load(self) -> None:
        raw = self.path.read_bytes()
        cut = raw.rfind(b"\n") + 1
        if cut != len(raw):
            logger.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run", self.path, len(raw) - cut)
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)
        text = raw[:cut].decode("utf-8", errors="replace")
        if self.fmt == "jsonl":
            rows = []
            for line in text.splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    logger.warning("%s: ignoring an unreadable line", self.path)
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
        for row in rows:
            if not row.get("error"):
                self.done.add(f"{row.get('path')}\t{row.get('id')}\t{row.get('content_hash')}")

    def write(self, records: list[dict[str, Any]]) -> None:
        """Write records and flush them to disk before returning."""
        if not records:
            return
        if self.fmt == "jsonl":
            chunk = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            chunk = "".join(_csv_line([_csv_value(r.get(k)) for k in FIELDS]) for r in records)
        self._fh.write(chunk)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    return " ".join(str(value).split())


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()
