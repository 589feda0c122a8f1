"""Argument checks shared by the models' Python APIs: what was wrong, and how to fix it.

>>> as_texts("One article.")
(['One article.'], True)
"""

from __future__ import annotations

import numbers
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any


def check_device(device: Any) -> str:
    """Return ``device`` as a string after checking torch knows it and the hardware is here.

    >>> check_device("cpu")
    'cpu'
    """
    import torch

    if not isinstance(device, (str, torch.device)):
        raise TypeError(f'device must be a str such as "cpu" or "cuda", got {type(device).__name__}')
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f'device={device!r} is not a torch device; use "cpu", "cuda" or "cuda:N"') from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f'device={str(device)!r} but torch finds no CUDA GPU here '
                             f'(torch.cuda.is_available() is False); use device="cpu"')
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(f"device={str(device)!r} but torch sees {torch.cuda.device_count()} CUDA GPU(s); "
                             'use "cuda:0" ... or device="cpu"')
    elif parsed.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f'device={str(device)!r} but this machine has no Apple MPS device; use device="cpu"')
    elif parsed.type != "cpu":
        backend = getattr(torch, parsed.type, None)
        if backend is not None and hasattr(backend, "is_available") and not backend.is_available():
            raise ValueError(f'device={str(device)!r} but torch finds no {parsed.type} device here; use device="cpu"')
    return str(device)


def bytes_hint(value: Any, name: str) -> str:
    """How to mend ``value`` when it is bytes (``name``: the argument's name), else ""."""
    return f"; decode it first (e.g. {name}.decode('utf-8'))" if isinstance(value, (bytes, bytearray)) else ""


def as_texts(text: Any) -> tuple[list[str], bool]:
    """``(texts, single)``: one str gives ``([text], True)``, a list of str ``(list, False)``;
    anything else is a TypeError that says what was given.

    >>> as_texts("One article.")
    (['One article.'], True)
    """
    if isinstance(text, str):
        return [text], True
    if isinstance(text, (bytes, bytearray, Mapping)) or not isinstance(text, Iterable):
        raise TypeError(f"text must be a str or a list of str, got {type(text).__name__}{bytes_hint(text, 'text')}")
    texts = list(text)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text[{i}] is {type(t).__name__}, expected str{bytes_hint(t, 'text')}")
    return texts, False


def as_titles(titles: Any, n: int, single: bool) -> list[str | None]:
    """One title (str or None) per text: ``None`` for all, a str for one text, else a list of ``n``.

    >>> as_titles(None, 2, False)
    [None, None]
    """
    if titles is None:
        return [None] * n
    if isinstance(titles, str):
        if not single:
            raise TypeError("titles must be a list (one str or None per text) when text is a list, got a str")
        return [titles]
    if isinstance(titles, (bytes, bytearray, Mapping)) or not isinstance(titles, Iterable):
        raise TypeError(f"titles must be a str, a list of str or None, got {type(titles).__name__}{bytes_hint(titles, 'titles')}")
    heads = list(titles)
    if len(heads) != n:
        raise ValueError(f"got {len(heads)} titles for {n} texts; pass one title per text (or None)")
    for i, h in enumerate(heads):
        if h is not None and not isinstance(h, str):
            raise TypeError(f"titles[{i}] is {type(h).__name__}, expected str or None{bytes_hint(h, 'title')}")
        if h is not None:
            check_encodable(h, f"titles[{i}]")
    return heads


def has_visible_text(text: str) -> bool:
    """True when ``text`` has a character that is not white space, a control or an invisible
    format character (zero-width space and joiners, byte-order marks): ``str.strip`` keeps those.

    >>> has_visible_text("\u200b\u200d \ufeff"), has_visible_text("\u200bSeoul")
    (False, True)
    """
    return any(not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf") for c in text)


def check_encodable(text: str, where: str = "text") -> str:
    """``text`` if it can be written as UTF-8, else a ValueError naming ``where``: a lone surrogate
    (what ``errors="surrogateescape"`` leaves for undecodable bytes) reaches no tokenizer or file.

    >>> check_encodable("Seoul said ...")
    'Seoul said ...'
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{where} holds {text[err.start]!r} at character {err.start}, which is not valid Unicode text (a lone "
                         "surrogate, left by decoding bytes with errors='surrogateescape'); decode the file with its real "
                         "encoding, or with errors='replace'") from None
    return text


def check_count(value: Any, name: str, minimum: int = 1, hint: str = "") -> int:
    """``value`` as an int after checking it is a whole number of at least ``minimum``.

    >>> check_count(4, "batch_size")
    4
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number (int), got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(hint or f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_text(text: object, where: str = "text") -> str:
    """``text`` if it is a str with something in it, else a TypeError or ValueError naming ``where``.

    >>> check_text("Seoul said ...")
    'Seoul said ...'
    """
    if not isinstance(text, str):
        raise TypeError(f"{where} must be a str, got {type(text).__name__}{bytes_hint(text, 'text')}")
    if not has_visible_text(text):
        raise ValueError(f"{where} is empty or only whitespace (or invisible characters); there is nothing to summarise")
    return check_encodable(text, where)


def check_title(title: object) -> None:
    """A TypeError unless ``title`` is a str or None."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}{bytes_hint(title, 'title')}")
    if title is not None:
        check_encodable(title, "title")
