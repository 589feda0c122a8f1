"""Reading article folders into ``Article`` records, and writing result records safely."""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from defsum.briefs import is_mostly_latin
from defsum.checks import has_visible_text

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
_WIDE_BOMS = (  # UTF-16 and UTF-32: lines cannot be split as bytes; (byte-order mark, codec, encoding name)
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
_SAMPLE = 1 << 16  # bytes of a JSONL file that choose its encoding
_SURROGATE = re.compile("[\ud800-\udfff]")
_PROMPT = re.compile(
    # anywhere in the line: an invitation to follow or subscribe ("Stay updated - Click here to follow us on Instagram")
    r"\b(click|tap) here to (follow|subscribe|join|sign up|get|read|see|watch|download)\b"
    r"|\bfollow us on (instagram|twitter|x|facebook|telegram|whatsapp|linkedin|youtube|tiktok|threads|google news)\b"
    # opening the line (after list or heading marks, never after a quotation mark)
    r"|^[\s#*>|\u2022\u00b7-]*((click|tap) here (to|for)\b|(sign up|subscribe)\b.{0,40}\b(newsletter|channel|updates|alerts)\b"
    r"|download (the|our)\b.{0,30}\bapp\b)"
    # the whole line
    r"|^[\s#*>|\u2022\u00b7-]*(advertisement|advertising|sponsored( content)?|read more|also read|related (stories|articles)|"
    r"share (this|the) (article|story)|skip to (main )?content)\W*$",
    re.IGNORECASE,
)
_REPORTED = re.compile(r"[\"\u201c\u201d\u2018\u2019\u00ab\u00bb]|\b(said|says|saying|told|tells|wrote|writes|urged|urges|warned|according)\b", re.IGNORECASE)
BOILERPLATE_MAX_WORDS = 25
"""A line longer than this is never taken for site furniture, whatever it says."""
_LINE_ENDS = frozenset(".!?:;\"')]\u201d\u2019")
_GLUED_AFTER_LETTER_OK = frozenset("\u201d\u2019\u2026\u00bb\u2014\u2013\u203a\u2122\u00ae\u00a9\u00b0\u00b7\u20ac\u00a0\u00b2")  # ” ’ … » — – › ™ ® © ° · € nbsp ²
_ICELANDIC_ONLY = frozenset("\u00fe\u00f0\u00de\u00d0")  # þ ð Þ Ð: in cp1252 text mostly Turkish ş ğ Ş Ğ (cp1254)
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

    def __post_init__(self) -> None:
        # A file name that is not valid UTF-8 comes back from the OS with lone surrogates
        # (surrogateescape); they cannot be written as UTF-8, so escape them (b"caf\xe9" -> "caf\\xe9").
        self.path = escape_surrogates(self.path)
        self.id = escape_surrogates(self.id)

    @property
    def content_hash(self) -> str:
        """A short SHA-256 of the title and text (or of the error), used by ``--resume``."""
        body = f"{self.title or ''}\n{self.text if self.text is not None else self.error}"
        return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @property
    def key(self) -> str:
        """What identifies this article across runs: path, id and content hash (:func:`record_key`)."""
        return record_key(self.path, self.id, self.content_hash)


def record_key(path: Any, ident: Any, content_hash: Any) -> str:
    """The ``--resume`` key of an article, from its record's ``path``, ``id`` and ``content_hash``.
    The path counts as an absolute one (from the working folder), so ``in``, ``./in/`` and
    ``/home/me/in`` name the same files; records keep the path as it was given.

    >>> record_key("./in/a.txt", "a", "0f") == record_key("in/a.txt", "a", "0f")
    True
    """
    if isinstance(path, str) and path:
        path = os.path.abspath(path)
    return f"{path}\t{ident}\t{content_hash}"


@dataclass(frozen=True)
class ReadOptions:
    """How to read articles: JSON field names, the size limit and symlink policy."""

    text_field: str = "text"
    title_field: str = "title"
    id_field: str = "id"
    max_bytes: int = 1_000_000
    oversize: str = "truncate"  # "truncate": score the first max_bytes; "error": record an error
    follow_symlinks: bool = False
    exclude: frozenset[str] = frozenset()  # resolved paths never read as input (the output file)

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.oversize not in ("truncate", "error"):
            raise ValueError(f"oversize must be 'truncate' or 'error', got {self.oversize!r}")


# ---------------------------------------------------------------------- finding files
def iter_files(paths: Iterable[str | Path], follow_symlinks: bool = False) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(file, problem)`` for every article file under ``paths``, in sorted order.

    A problem (a symlink not followed, a loop, a missing path, a path that cannot be stat'ed)
    comes back as a string instead of raising, so the caller can write a record for it. A file
    named twice (a folder and a file in it, or two links to one file) is yielded once, and so is
    a problem met twice (a folder named as ``in`` and ``in/``).
    """
    seen: set[str] = set()
    for path, problem in _iter_paths(paths, follow_symlinks):
        key = os.path.realpath(path) if problem is None else "\0" + os.path.abspath(path)  # \0: never a real path
        if key in seen:
            continue
        seen.add(key)
        yield path, problem


def _iter_paths(paths: Iterable[str | Path], follow_symlinks: bool) -> Iterator[tuple[Path, str | None]]:
    for root in paths:
        root = Path(root)
        try:
            kind = _root_kind(root, follow_symlinks)
        except OSError as err:  # e.g. EACCES on a folder above it: pathlib re-raises it
            yield root, f"cannot read: {err.strerror or err}"
            continue
        if kind == "dir":
            yield from _walk(root, follow_symlinks, {root.resolve()})
        else:
            yield root, kind


def _root_kind(root: Path, follow_symlinks: bool) -> str | None:
    """What a path named on the command line is: "dir", None (a file to read) or the problem with it."""
    if root.is_symlink() and not follow_symlinks and root.is_dir():
        return "skipped: symbolic link not followed (pass --follow-symlinks)"
    if root.is_dir():
        return "dir"
    if root.is_file():
        return None
    if root.exists():
        return "skipped: not a regular file (a pipe or a device: save the text to a file first)"
    if root.is_symlink():
        return "broken or looping symbolic link"
    return "no such file or folder"


def _walk(folder: Path, follow: bool, seen: set[Path]) -> Iterator[tuple[Path, str | None]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        yield folder, f"cannot list folder: {err.strerror or err}"
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            kind = _entry_kind(entry, path, follow, seen)
        except OSError as err:  # a stat that fails (EACCES): this entry gets a record, the walk goes on
            kind = f"cannot read: {err.strerror or err}" if _may_hold_articles(entry) else "ignore"
        if kind == "dir":
            yield from _walk(path, follow, seen | {path.resolve()})
        elif kind != "ignore":
            yield path, kind


def _entry_kind(entry: os.DirEntry[str], path: Path, follow: bool, seen: set[Path]) -> str | None:
    """What a folder entry is: "dir", "ignore" (not an article file), None (a file to read) or the problem with it."""
    if entry.is_symlink():
        if not path.exists():
            # any other name is ignored, like a regular non-article file
            return "broken or looping symbolic link" if path.suffix.lower() in SUFFIXES else "ignore"
        if not follow:
            if path.is_dir() or path.suffix.lower() in SUFFIXES:
                return "skipped: symbolic link not followed (pass --follow-symlinks)"
            return "ignore"
        if path.is_dir() and path.resolve() in seen:
            return "skipped: symbolic link loop"
    if path.is_dir():
        return "dir"
    if path.suffix.lower() not in SUFFIXES:
        return "ignore"
    return _file_problem(path)


def _may_hold_articles(entry: os.DirEntry[str]) -> bool:
    """Whether an entry that cannot be stat'ed has an article suffix or is listed as a folder."""
    if Path(entry.name).suffix.lower() in SUFFIXES:
        return True
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _file_problem(path: Path) -> str | None:
    """None for a regular file, else why it cannot be read: the folder is listed up front and its
    files looked at one by one as the run reaches them, so a file may be gone by then (another
    OSError is raised, for the walk to record)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file: removed during the run"
    return None if stat.S_ISREG(mode) else "skipped: not a regular file"


# ---------------------------------------------------------------------- reading
def read_articles(paths: Iterable[str | Path], options: ReadOptions | None = None) -> Iterator[Article]:
    """Yield one ``Article`` per article found under ``paths`` (one per JSONL line).

    Files that cannot be read or parsed yield an ``Article`` with ``error`` set.

    >>> for a in read_articles(["examples/articles"]):  # doctest: +SKIP
    ...     print(a.path, a.title)
    """
    opts = options or ReadOptions()
    excluded = {ident for ident in map(file_identity, opts.exclude) if ident is not None}
    for path, problem in iter_files(paths, opts.follow_symlinks):
        # e.g. the run's own output file inside the folder being scored, or a hard link to it (one stat per file)
        if opts.exclude and (file_identity(path) in excluded if problem is None else os.path.realpath(path) in opts.exclude):
            continue
        if problem is not None:
            yield Article(str(path), path.stem, error=problem)
            continue
        try:
            yield from _read_file(path, opts)
        except OSError as err:
            yield Article(str(path), path.stem, error=f"cannot read file: {err.strerror or err}")
        except Exception as err:  # a bug or an input no one foresaw: this file gets a record, the run goes on
            logger.debug("reading %s failed", path, exc_info=True)
            yield Article(str(path), path.stem, error=f"cannot read file: {type(err).__name__}: {err}")


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """The ``(device, inode)`` of the file at ``path`` (links followed), or None when it cannot be stat'ed:
    two paths with the same identity are one file, even as hard links that ``realpath`` tells apart."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return None
    return st.st_dev, st.st_ino


def _read_file(path: Path, opts: ReadOptions) -> Iterator[Article]:
    with open(path, "rb") as fh:
        if path.suffix.lower() == ".jsonl":
            yield from _read_jsonl(path, fh, opts)  # --max-bytes a limit per line
            return
        data = fh.read(opts.max_bytes + 1)
    flags: list[str] = []
    if len(data) > opts.max_bytes:
        if opts.oversize == "error":
            yield Article(str(path), path.stem, error=f"file is larger than the limit of {opts.max_bytes} bytes (--max-bytes)")
            return
        data = cut_bytes(data, opts.max_bytes)
        flags.append("truncated_input")
    if not data.strip():
        yield Article(str(path), path.stem, error="empty file")
        return
    text, encoding = decode_bytes(data)
    if text is None:
        yield Article(str(path), path.stem, error=encoding)
        return
    suffix = path.suffix.lower()
    text = text.replace("\r\n", "\n")  # before titles are split and lines read
    if suffix in TEXT_SUFFIXES:
        text = text.replace("\r", "\n")
    if suffix in HTML_SUFFIXES:
        yield _from_html(path, text, encoding, flags)
    elif suffix == ".json":
        yield from _from_json(path, text, encoding, flags, opts)
    else:
        yield _article(str(path), path.stem, None, text, encoding, flags, title_in_body="markdown" if suffix == ".md" else "text")


def cut_bytes(data: bytes, limit: int) -> bytes:
    """The first ``limit`` bytes of ``data``, less a character cut in half at the end.

    UTF-16/32 text (with a byte-order mark) and UTF-8 text lose the bytes of an incomplete
    last character, so that the rest still decodes as what it is.

    >>> cut_bytes("café".encode("utf-8"), 4)
    b'caf'
    """
    data = data[:limit]
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return data  # not that encoding: nothing to mend
    pending = decoder.getstate()[0]
    return data[: len(data) - len(pending)] if pending else data


def escape_surrogates(text: str) -> str:
    r"""Replace lone surrogates (from undecodable file names or JSON ``\ud800`` escapes) by escapes.

    >>> escape_surrogates("caf\udce9.txt")
    'caf\\xe9.txt'
    """
    if not _SURROGATE.search(text):
        return text

    def one(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    return _SURROGATE.sub(one, text)


def decode_bytes(data: bytes) -> tuple[str | None, str]:
    """Decode ``data`` to text and name its encoding, or return ``(None, reason)``.

    After a byte-order mark and UTF-8, text without NUL bytes is read as cp1252 (latin-1 where
    it has one of the 5 bytes cp1252 leaves undefined), unless that reading does not look like
    Western European text (mostly non-ASCII letters, as Cyrillic, Greek or Asian text gives, or
    symbols glued to letters, as Central European encodings give): then the charset detector
    decides. The detector alone often takes short latin-1 text for cp1250, mac_latin2 or big5.

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
    if text is not None and "\x00" in text:
        text = None  # NUL bytes: UTF-16 or UTF-32 without a byte-order mark (or binary), for the detector to decide
    if text is None and b"\x00" not in data:
        text, name = _utf8_with_cp1252_bytes(data)
    western: tuple[str, str] | None = None
    if text is None and b"\x00" not in data:
        try:
            western = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:  # 0x81 0x8D 0x8F 0x90 0x9D are undefined in cp1252
            western = data.decode("latin-1"), "latin-1"
        if not _unlike_western(western[0]):
            text, name = western
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None and best.encoding.startswith(("utf_16", "utf_32")) and b"\x00" not in data:
            best = None  # UTF-16/32 text without a byte-order mark has NUL bytes; short cp1252 text can fool the detector
        if best is not None and "\x00" not in str(best) and not _looks_binary(str(best)):
            text, name = str(best), best.encoding
        elif western is not None:
            text, name = western
    if text is None or _looks_binary(text):
        return None, "binary file: not text in any known encoding"
    if name in ("windows_1252", "latin_1", "iso8859_1"):
        name = "cp1252" if name == "windows_1252" else "latin-1"
    return text, name


def _cp1252_bytes(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    chunk = err.object[err.start : err.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in chunk), err.end


codecs.register_error("defsum-cp1252", _cp1252_bytes)


def _utf8_with_cp1252_bytes(data: bytes) -> tuple[str | None, str]:
    """UTF-8 text with a few stray cp1252/latin-1 bytes (pasted-together sources): decode each part as what it is.

    Used only when valid multi-byte UTF-8 characters outnumber the invalid bytes.
    """
    rough = data.decode("utf-8", errors="replace")
    bad = rough.count("\ufffd")
    good = sum(1 for c in rough if ord(c) > 127) - bad
    if bad == 0 or good < bad or "\ufffd" in data.decode("utf-8", errors="ignore"):
        return None, ""
    return data.decode("utf-8", errors="defsum-cp1252"), "utf-8+cp1252"


def _unlike_western(text: str) -> bool:
    """Does this cp1252/latin-1 reading look like some other encoding's text?

    True when most letters are non-ASCII (Cyrillic, Greek, Hebrew, Arabic or CJK bytes read as
    cp1252 give runs of accented letters), or when C1 controls or symbols glued after letters
    (``powiedzia³``: cp1250's ł read as cp1252) or þ ð (Turkish ş ğ) are more than a stray one.
    """
    sample = text[:20000]
    letters = high = odd = 0
    prev_letter = False
    for c in sample:
        if c.isalpha():
            letters += 1
            if ord(c) > 127:
                high += 1
                odd += c in _ICELANDIC_ONLY
            prev_letter = True
            continue
        if "\x80" <= c <= "\x9f":
            odd += 1
        elif prev_letter and ord(c) > 127 and not c.isspace() and c not in _GLUED_AFTER_LETTER_OK:
            odd += 1
        prev_letter = False
    if high >= 4 and high * 2 > letters:
        return True
    return odd >= max(1, high // 50)


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f\v")
    return "\x00" in sample or control > max(8, len(sample) // 50)


def is_boilerplate(line: str) -> bool:
    """Whether one line, on its own, is web-page furniture rather than news: short (at most
    :data:`BOILERPLATE_MAX_WORDS` words), a prompt to follow, subscribe or download, or a bare
    "Advertisement" or "Read more", and neither quoted nor reported speech.

    >>> is_boilerplate("Sign up for our daily newsletter"), is_boilerplate("Sign up for alerts, officials urged residents.")
    (True, False)
    """
    line = line.strip()
    return bool(line) and len(line.split()) <= BOILERPLATE_MAX_WORDS and bool(_PROMPT.search(line)) and not _REPORTED.search(line)


def drop_boilerplate(text: str) -> tuple[str, int]:
    """Drop the lines of ``text`` that are web-page furniture (:func:`is_boilerplate`); return the
    rest and how many went.

    Only a line that stands on its own goes: at the start of the text, after a blank line or after
    a kept line ending a sentence (so a run of furniture lines goes together), and not followed by
    a line that continues it in lower case (so a hard-wrapped sentence never loses a piece). Scraped articles often open with such a prompt;
    left in, it is taken for the title, repeated in every window the classifier reads, or picked
    as the brief.

    >>> drop_boilerplate("Stay updated - Click here to follow us on Instagram\\nSeoul said on Tuesday ...")
    ('Seoul said on Tuesday ...', 1)
    """
    lines = text.split("\n")
    kept, dropped = [], 0
    for i, line in enumerate(lines):
        before = kept[-1].rstrip() if kept else ""
        after = lines[i + 1].lstrip() if i + 1 < len(lines) else ""
        alone = (not before or before[-1] in _LINE_ENDS) and not after[:1].islower()
        if alone and is_boilerplate(line):
            dropped += 1
        else:
            kept.append(line)
    return ("\n".join(kept), dropped) if dropped else (text, 0)


def split_title(text: str, markdown: bool = False) -> tuple[str | None, str]:
    """Take a short first line followed by a blank line as the title.

    >>> split_title("Missile launch\\n\\nNorth Korea fired ...")
    ('Missile launch', 'North Korea fired ...')
    """
    text = text.replace("\r\n", "\n").strip()
    first, _, rest = text.partition("\n")
    head = first.strip().lstrip("#").strip() if markdown else first.strip()
    blank_next = not rest.partition("\n")[0].strip()
    if head and len(head) <= 200 and rest.strip() and (blank_next or first.startswith("#")):
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
        if "truncated_input" in flags:
            yield Article(str(path), path.stem, error=f"invalid JSON: the file is larger than --max-bytes {opts.max_bytes} and was cut "
                          f"there ({err}); a JSON file cannot be scored when cut: rerun with a larger --max-bytes")
        else:
            yield Article(str(path), path.stem, error=f"invalid JSON: {err}")
        return
    except (ValueError, RecursionError) as err:
        yield Article(str(path), path.stem, error=f"invalid JSON: {json_problem(err)}")
        return
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items, 1):
        yield _from_object(path, item, f"{path.stem}:{n}" if isinstance(data, list) else path.stem, encoding, flags, opts, f"item {n}")


def _read_jsonl(path: Path, fh: Any, opts: ReadOptions) -> Iterator[Article]:
    """The articles of a JSONL file, read line by line in the encoding its first bytes show:
    UTF-16 or UTF-32 (a byte-order mark, or what the detector says of a sample with NUL bytes) split
    at its own line ends, anything else split as bytes. A NUL byte in a UTF-8 or single-byte file
    fails only its line; a file that is no text even without its NUL bytes is refused as binary."""
    head = fh.read(_SAMPLE)
    fh.seek(0)
    wide = _wide_encoding(head)
    if wide is not None:
        codec, name = wide
        yield from _stream_jsonl(path, _wide_lines(fh, codec, opts.max_bytes), opts, lambda line: _decode_wide(line, codec, name))
        return
    sample = head.replace(b"\x00", b"")
    if len(sample) < len(head):  # NUL bytes, but no UTF-16 or UTF-32: text with a broken line, or binary
        text, reason = decode_bytes(cut_bytes(sample, len(sample)).removeprefix(codecs.BOM_UTF8))
        if text is None:
            yield Article(str(path), path.stem, error=reason)
            return
    encoding = _sample_encoding(sample)
    yield from _stream_jsonl(path, _byte_lines(fh, opts.max_bytes), opts, lambda line: _decode_line(line, encoding))


def _wide_encoding(head: bytes) -> tuple[str, str] | None:
    """``(codec, encoding name)`` of a JSONL file in UTF-16 or UTF-32, from its first bytes, or None."""
    for bom, codec, name in _WIDE_BOMS:
        if head.startswith(bom):
            return codec, name
    if b"\x00" not in head:
        return None
    whole = len(head) - len(head) % 4
    for end in (whole, max(whole - 2, 0)):  # a UTF-16 sample may end inside a surrogate pair
        text, name = decode_bytes(head[:end])
        if text is not None and name.startswith(("utf_16", "utf_32")):
            return name, name
    return None


def _byte_lines(fh: Any, limit: int) -> Iterator[bytes | None]:
    """The lines of a UTF-8 or single-byte file, line ends dropped; None for a line over ``limit`` bytes."""
    while raw := fh.readline(limit + 2):  # + the line end, \r\n at most
        line = raw.rstrip(b"\r\n")
        if len(line) > limit:
            if not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass  # the rest of the long line
            yield None
            continue
        yield line


def _wide_lines(fh: Any, codec: str, limit: int) -> Iterator[bytes | None]:
    """The lines of a UTF-16 or UTF-32 file in ``codec``, split at each ``\\n`` code unit (never
    the bytes of another character), line ends dropped; None for a line over ``limit`` bytes,
    which is read past, never held whole."""
    newline, cr = "\n".encode(codec), "\r".encode(codec)
    unit, buf, too_long = len(newline), b"", False
    while True:
        chunk = fh.read(1 << 16)
        buf += chunk
        start = 0
        while (end := _find_unit(buf, newline, start)) >= 0:
            yield _wide_line(buf[start:end], cr, limit, too_long)
            start, too_long = end + unit, False
        buf = buf[start:]  # starts on a code unit
        if not chunk:
            break
        if len(buf) > limit + unit:  # the line is over the limit already: keep only a partial code unit
            buf, too_long = buf[len(buf) - len(buf) % unit :], True
    if buf or too_long:
        yield _wide_line(buf, cr, limit, too_long)


def _wide_line(line: bytes, cr: bytes, limit: int, too_long: bool) -> bytes | None:
    if line.endswith(cr) and len(line) % len(cr) == 0:
        line = line[: -len(cr)]
    return None if too_long or len(line) > limit else line


def _find_unit(data: bytes, unit: bytes, start: int) -> int:
    """Where ``unit`` first sits at or after ``start`` as a whole code unit (at a multiple of its length), or -1."""
    while (i := data.find(unit, start)) >= 0 and i % len(unit):
        start = i + 1
    return i


def _decode_line(line: bytes, encoding: str | None) -> tuple[str | None, str]:
    """A UTF-8 or single-byte line in the file's ``encoding``, else decoded on its own; ``(None, reason)`` if it cannot be."""
    if encoding is not None:
        try:
            return line.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    return decode_bytes(line) if line.strip() else ("", "")


def _decode_wide(line: bytes, codec: str, name: str) -> tuple[str | None, str]:
    """A UTF-16 or UTF-32 line, or ``(None, reason)``."""
    try:
        return line.decode(codec), name
    except UnicodeDecodeError as err:
        return None, f"invalid {name} text ({err.reason} at byte {err.start} of the line)"


def _sample_encoding(head: bytes) -> str | None:
    """The codec a JSONL file's first bytes decode with (one line alone is too short for the
    detector: a cp1251 line can pass for cp1250), or None when it is no single codec."""
    text, name = decode_bytes(cut_bytes(head, len(head)))
    if text is None:
        return None
    try:
        codecs.lookup(name)
    except LookupError:  # "utf-8+cp1252": mixed, decided line by line
        return None
    return name


def _stream_jsonl(
    path: Path, lines: Iterable[bytes | None], opts: ReadOptions, decode: Callable[[bytes], tuple[str | None, str]]
) -> Iterator[Article]:
    """The articles of a JSONL file's ``lines`` (None for a line over ``opts.max_bytes``, which
    gets an error record: JSON cannot be parsed when cut), each ``decode``d to ``(text, encoding)``
    or ``(None, reason)``; a bad line gets an error record, and the lines after it are read as usual."""
    found = 0
    for n, line in enumerate(lines, 1):
        if line is None:
            found += 1
            yield Article(str(path), f"{path.stem}:{n}", error=f"line {n} is larger than the limit of {opts.max_bytes} bytes "
                          "(--max-bytes) and a JSON line cannot be scored when cut: rerun with a larger --max-bytes")
            continue
        text, used = decode(line)
        if text is None:
            found += 1
            yield Article(str(path), f"{path.stem}:{n}", error=f"line {n}: {used}")
            continue
        text = text.lstrip("\ufeff")
        if not text.strip():
            continue
        found += 1
        yield _jsonl_line(path, n, text, used, opts)
    if not found:
        yield Article(str(path), path.stem, error="empty file")


def _jsonl_line(path: Path, n: int, line: str, encoding: str, opts: ReadOptions) -> Article:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        return Article(str(path), f"{path.stem}:{n}", error=f"line {n}: invalid JSON: {err.msg} (column {err.colno})")
    except (ValueError, RecursionError) as err:
        return Article(str(path), f"{path.stem}:{n}", error=f"line {n}: invalid JSON: {json_problem(err)}")
    return _from_object(path, item, f"{path.stem}:{n}", encoding, [], opts, f"line {n}")


def _from_object(path: Path, item: Any, default_id: str, encoding: str, flags: list[str], opts: ReadOptions, where: str) -> Article:
    if not isinstance(item, dict):
        return Article(str(path), default_id, error=f"{where}: expected a JSON object, got {type(item).__name__}")
    raw_id = item.get(opts.id_field)
    ident = default_id if raw_id is None or raw_id == "" else str(raw_id)
    body = item.get(opts.text_field)
    if not isinstance(body, str):
        if {"scores", "content_hash"} <= set(item):
            return Article(str(path), ident, error=f"{where}: a defsum output record (it has scores and content_hash), "
                           "not an article: keep output files out of the folders being scored")
        found = ", ".join(sorted(map(str, item))[:10])
        what = "no" if opts.text_field not in item else "a null" if body is None else f"a non-string ({type(body).__name__})"
        return Article(str(path), ident, error=f"{where}: {what} {opts.text_field!r} field (fields: {found}); set --text-field")
    title = item.get(opts.title_field)
    return _article(str(path), ident, title if isinstance(title, str) else None, body, encoding, flags)


def json_problem(err: Exception) -> str:
    """What is wrong with JSON that parses as JSON but not in Python: nested too deeply for the
    parser, or a number too long to convert.

    >>> json_problem(RecursionError("maximum recursion depth exceeded while decoding a JSON array"))
    'lists or objects nested too deeply to read'
    """
    if isinstance(err, RecursionError):
        return "lists or objects nested too deeply to read"
    text = str(err).split(";")[0]  # "Exceeds the limit (4300 digits) ...; use sys.set_int_max_str_digits()": not for users
    return f"a value that cannot be read ({text})"


def split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only (a trailing ``\\r`` is dropped), unlike ``str.splitlines``.

    >>> split_lines('{"t": "a\\u2028b"}\\r\\n2')
    ['{"t": "a\\u2028b"}', '2']
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _article(
    path: str, ident: str, title: str | None, body: str, encoding: str, flags: list[str], title_in_body: str | None = None
) -> Article:
    """The article of one text, furniture lines dropped; ``title_in_body`` ("text" or "markdown"):
    take the title from the body's first line (:func:`split_title`), after the furniture is gone."""
    body = escape_surrogates(body.replace("\r\n", "\n")).strip()
    body, dropped = drop_boilerplate(body)
    if title_in_body:
        title, body = split_title(body, markdown=title_in_body == "markdown")
    body = body.strip()
    if title and is_boilerplate(title):
        title, dropped = None, dropped + 1
    if dropped and "boilerplate_removed" not in flags:
        flags = [*flags, "boilerplate_removed"]
    title = escape_surrogates(" ".join(title.split())) if title else None
    if not has_visible_text(body):
        why = ("only web-page furniture lines (boilerplate_removed)" if "boilerplate_removed" in flags
               else "empty after reading" if not body else "only invisible characters")
        return Article(path, ident, title=title, error=f"no article text ({why})", encoding=encoding, flags=flags)
    extra = [] if looks_english(body) else ["non_english"]
    return Article(path, ident, title or None, body, encoding=encoding, flags=[*flags, *extra])


def looks_english(text: str) -> bool:
    """A cheap check: are most letters Latin ones, and do common English function words make
    up a normal share of the words?

    >>> looks_english("The minister said that the talks would resume in Geneva.")
    True
    >>> looks_english("朝鲜周三向日本海发射了一枚弹道导弹，韩国联合参谋本部表示。")
    False
    """
    if not is_mostly_latin(text[:5000]):
        return False
    words = re.findall(r"[^\W\d_]+", text[:5000].lower())
    if len(words) < 5:
        return True
    return sum(w in _ENGLISH for w in words) / len(words) >= 0.12


@contextlib.contextmanager
def csv_field_limit(chars: int) -> Iterator[None]:
    """Let the csv module read fields of up to ``chars`` characters (a whole article in a cell),
    restoring its process-wide limit afterwards."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, chars))
    try:
        yield
    finally:
        csv.field_size_limit(old)


# ---------------------------------------------------------------------- writing
class RecordWriter:
    """Append result records to a JSONL or CSV file, each written whole and flushed.

    With ``resume=True`` an existing file is kept: a torn last line (from a killed run) is
    cut off, ``done`` holds the keys of articles already written, so they can be skipped, and
    ``failed_keys`` those of them whose record carries an error (skipped articles aside).

    >>> with RecordWriter("out.jsonl") as w:  # doctest: +SKIP
    ...     w.write([{"path": "a.txt", "id": "a", ...}])
    """

    def __init__(self, path: str | Path, *, resume: bool = False, fmt: str | None = None) -> None:
        self.path = Path(path)
        self.fmt = fmt or ("csv" if self.path.suffix.lower() == ".csv" else "jsonl")
        if self.fmt not in ("jsonl", "csv"):
            raise ValueError(f"output format must be jsonl or csv, got {self.fmt!r}")
        self.done: set[str] = set()
        self.failed_keys: set[str] = set()
        if resume and self.path.exists():
            self._repair_and_load()
        # backslashreplace: a lone surrogate left in some field is written as a \\udXXX escape, not a crash
        self._fh = open(self.path, "a" if resume else "w", encoding="utf-8", errors="backslashreplace", newline="")
        if self.fmt == "csv" and self._fh.tell() == 0:
            self._fh.write(_csv_line(list(FIELDS)))
            self._fh.flush()

    def _repair_and_load(self) -> None:
        raw = self.path.read_bytes()
        cut = last_record_end(raw, self.fmt)
        if cut != len(raw):
            logger.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run", self.path, len(raw) - cut)
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)
        text = raw[:cut].decode("utf-8", errors="replace")
        if self.fmt == "jsonl":
            rows = []
            for line in split_lines(text):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except (ValueError, RecursionError):
                    logger.warning("%s: ignoring an unreadable line", self.path)
        else:
            rows = self._read_csv(text)
        for row in rows:
            # Every article with a record counts as done, error or not: a rerun with --resume never adds
            # a second record. To retry failed articles, rerun them without --resume (or into a new file).
            if isinstance(row, dict):
                key = record_key(row.get("path"), row.get("id"), row.get("content_hash"))
                self.done.add(key)
                error = row.get("error") or ""
                if error and not str(error).startswith("skipped"):
                    self.failed_keys.add(key)

    def _read_csv(self, text: str) -> list[dict[str, Any]]:
        """The rows of a CSV output file; a field may be as long as the file (a long title)."""
        try:
            with csv_field_limit(len(text) + 1):
                return list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as err:
            raise ValueError(f"{self.path}: cannot be read back as CSV ({err}); to resume, pass the output file of the "
                             "earlier run, or write to a new file without --resume") from err

    def write(self, records: list[dict[str, Any]]) -> None:
        """Write records and flush them to disk before returning."""
        if not records:
            return
        if self.fmt == "jsonl":
            chunk = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            chunk = "".join(_csv_line([_csv_value(r.get(k), k) for k in FIELDS]) for r in records)
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


_CSV_FREE_TEXT = frozenset({"title", "summary", "error"})


def _csv_value(value: Any, name: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    if name in _CSV_FREE_TEXT:  # only free text is tidied; path and id must match the next --resume exactly
        return " ".join(str(value).split())
    return str(value)


def _csv_line(values: list[str]) -> str:
    r"""One CSV row. A row holding a ``\r`` has every field quoted: the csv module quotes a lone ``\r``
    only when the line end has one, and a reader takes an unquoted one for the end of the row.

    >>> _csv_line(["a", "f\rg"]), _csv_line(["a", "b c"])
    ('"a","f\rg"\n', 'a,b c\n')
    """
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if any("\r" in v for v in values) else csv.QUOTE_MINIMAL
    csv.writer(buf, lineterminator="\n", quoting=quoting).writerow(values)
    return buf.getvalue()


def last_record_end(raw: bytes, fmt: str) -> int:
    r"""Where the last whole record of an output file ends: after its last ``\n``, and in CSV
    after its last ``\n`` outside quotes (a quoted field may hold line ends), so a record torn by
    a kill is cut off whole.

    >>> last_record_end(b'a,b\nc,"d\ne', "csv"), last_record_end(b'a,b\nc,"d\ne', "jsonl")
    (4, 9)
    """
    if fmt != "csv":
        return raw.rfind(b"\n") + 1
    quotes, end = raw.count(b'"'), len(raw)
    while (nl := raw.rfind(b"\n", 0, end)) >= 0:
        quotes -= raw.count(b'"', nl, end)  # now the quotes before this line end
        if quotes % 2 == 0:
            return nl + 1
        end = nl
    return 0


def is_record_file(path: str | Path) -> bool:
    """Whether ``path`` starts like a defsum output file: a JSONL record or a CSV header with
    ``scores`` and ``content_hash`` (such a file may be overwritten or resumed; an article file may not)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 24).decode("utf-8", errors="replace")
    except OSError:
        return False
    try:
        fields: Any = json.loads(first)  # a JSONL record
    except (ValueError, RecursionError):
        try:
            fields = next(csv.reader([first.rstrip("\r\n")]), [])  # a CSV header
        except csv.Error:
            return False
    return isinstance(fields, (dict, list)) and {"scores", "content_hash"} <= set(map(str, fields))
