"""Splitting long articles into overlapping token windows that each keep the title."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Windows:
    """The model inputs of one article: one entry of ``input_ids`` per window."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    capped: bool
    """True when the article had more windows than ``max_windows`` and its tail was not scored."""


def make_windows(
    tokenizer: PreTrainedTokenizerBase,
    text: str,
    title: str | None = None,
    *,
    max_length: int = 256,
    overlap: int = 64,
    title_tokens: int = 32,
    max_windows: int = 32,
) -> Windows:
    """Cut ``text`` into windows of at most ``max_length`` tokens, each prefixed by the title.

    Consecutive windows share ``overlap`` body tokens, so no sentence is only ever seen cut.

    >>> from transformers import AutoTokenizer  # doctest: +SKIP
    >>> w = make_windows(AutoTokenizer.from_pretrained(path), long_text, "Title")  # doctest: +SKIP
    >>> len(w.input_ids)  # doctest: +SKIP
    3
    """
    if max_length < 16:
        raise ValueError(f"max_length={max_length} is too small; use at least 16 tokens")
    head = None
    if title and title.strip():
        # one token past the cap tells whether the title was cut; a huge title is not tokenised whole
        ids = tokenizer(title, add_special_tokens=False, truncation=True, max_length=title_tokens + 1)["input_ids"]
        head = tokenizer.decode(ids[:title_tokens]) if len(ids) > title_tokens else title
        title_len = min(len(ids), title_tokens)
    else:
        title_len = 0
    size = max_length - tokenizer.num_special_tokens_to_add(pair=head is not None) - title_len
    if size <= overlap:
        raise ValueError(
            f"max_length={max_length} leaves {size} body tokens per window, not more than "
            f"overlap={overlap}; raise max_length or lower overlap/title_tokens"
        )
    # Bound the work on huge inputs before tokenising: a token is rarely over 8 characters.
    char_budget = max_windows * max_length * 8
    pair = (head, text[:char_budget]) if head is not None else (text[:char_budget],)
    enc = tokenizer(
        *pair, truncation="only_second" if head is not None else True, max_length=max_length,
        stride=overlap, return_overflowing_tokens=True,
    )
    ids_list = enc["input_ids"]
    capped = len(ids_list) > max_windows or len(text) > char_budget
    types = enc.get("token_type_ids")
    return Windows(
        ids_list[:max_windows], types[:max_windows] if types is not None else None, capped
    )
