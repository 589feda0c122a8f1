"""Text-level quality of briefs: casing, sentence trimming, repetition, entity support.

Pure functions on strings (no torch, no model), used by :class:`defsum.summarizer.Summarizer`,
the training script and the evaluation script.

>>> restore_case("iran and saudi arabia restore ties .", "Iran and Saudi Arabia agreed ...")
'Iran and Saudi Arabia restore ties.'
>>> trim_to_sentences("One two three. Four five six seven.", max_words=4)
'One two three.'
>>> entity_precision("Kim met Putin in 2024.", "Kim Jong Un met Vladimir Putin in Moscow.")
0.6666666666666666
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Iterable

__all__ = [
    "clean_text",
    "split_sentences",
    "trim_to_sentences",
    "fit_words",
    "clause_cut",
    "is_clipped",
    "restore_case",
    "detokenize",
    "repeated_ngrams",
    "has_repeated_ngrams",
    "entities",
    "entity_precision",
    "unsupported_entities",
    "is_all_lower",
    "select_sentences",
    "strip_dateline",
    "strip_datelines",
    "has_stutter",
    "is_sentence",
    "lead_sentence",
    "title_sentence",
    "novel_content_words",
    "novel_ngrams",
    "body_sentences",
    "content_stems",
]

# Words that are capitalised only because they start a sentence; never counted as names.
STOPWORDS = frozenset(
    """a an and are as at be but by for from had has have he her his i if in into is it its
    no not of on or our she so than that the their them then there these they this those to
    was we were what when where which while who will with would you your after before about
    over under more most some any all also up down out new two one three four five six seven
    eight nine ten first last last year years day days week monday tuesday wednesday thursday
    friday saturday sunday january february march april may june july august september october
    november december mr mrs ms dr""".split()
)
_MONTHS_DAYS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december""".split()
)

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "cmdr", "gov", "sen",
    "rep", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.n", "u.k", "e.g",
    "i.e",
}
# "reply.The", "(PWD).The", 'cause."The', "Tuesday.SoftBank", "November 1.Leonid", "delay.A photo"
# in scraped text: a stop after two lower-case letters, a digit, a closing bracket or a closing
# quote, then a capitalised word.
_GLUED = re.compile(
    r"(?:(?<=[a-z]{2}[.!?])|(?<=\d[.!?])|(?<=\w[)\]][.!?])|(?<=[a-z][.!?][\"'\u201d\u2019]))(?=[A-Z][a-z]+|[AI] )"
)
# Letters of scripts without case (Arabic, Hebrew, Devanagari, Thai, kana, Chinese characters,
# Hangul) may open a sentence in any text, like a capital; so may Latin-1, Greek and Cyrillic capitals.
_UNCASED_LETTER = "\u0590-\u06ff\u0900-\u097f\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_STOPS = ".!?\u061f\u0964"  # with the Arabic question mark and the Devanagari danda
_SENT_END = re.compile(
    rf"(?<=[{_STOPS}])([\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]*[A-Z0-9\u00c0-\u00d6\u00d8-\u00de\u0386\u0388-\u038f\u0391-\u03a9\u0400-\u042f{_UNCASED_LETTER}])"
)
# In a block with no capital letter at all (some data sets are lower-cased), any word may open
# a sentence.
_SENT_END_UNCASED = re.compile(
    rf"(?<=[{_STOPS}])([\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]*[a-z0-9\u00df-\u00f6\u00f8-\u00ff\u03ac-\u03ce\u0430-\u044f{_UNCASED_LETTER}])"
)
# Chinese and Japanese end a sentence with a full stop of their own (or "!", "?" after a
# character of theirs, or of Hangul) and no space after it.
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_CLOSERS = "\u300d\u300f\"'\u201d\u2019)\uff09"
_CJK_END = re.compile(
    rf"[\u3002\uff01\uff1f](?![{_CLOSERS}])\s*(?=\S)"
    rf"|[\u3002\uff01\uff1f][{_CLOSERS}]+(?![{_CLOSERS}])\s*(?=[^\s\u3040-\u309f])"  # a quote's end, not before a particle: 「...。」と述べた
    rf"|(?<=[{_CJK}\uac00-\ud7af])[.!?][{_CLOSERS}]*(?![{_CLOSERS}])(?=[{_CJK}\uac00-\ud7af])"  # glued to the next sentence
)
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, Chinese characters.
_UNSPACED_CHARS = rf"\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff{_CJK}"
_UNSPACED = re.compile(f"[{_UNSPACED_CHARS}]")
_UNSPACED_OR_SPACE = re.compile(rf"[\s{_UNSPACED_CHARS}]+")


def _is_abbrev(word: str) -> bool:
    """True for a word that a full stop after it does not end a sentence (Mr, U.S, J)."""
    low = word.lower()
    return low in _ABBREV or (len(word) == 1 and word.isupper()) or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", low))


# The dash after a dateline has a space on at least one side and no digit after it, so a range in a
# sentence's opening ("In Geneva, March 14-15 talks ...") is not taken for one.
_DATELINE_DASH = r"(?:\s+[-\u2013\u2014]+\s*|[-\u2013\u2014]+\s+)(?=[^\d\s])"
_DATELINE = re.compile(
    r"^\s*[A-Z][A-Za-z.'/\- ]{1,40},\s*(?:[A-Z][A-Za-z ]{1,30},\s*)?"
    r"(?:\d{1,2}\s+[A-Z][a-zA-Z]+\.?(?:\s+\d{4})?|[A-Z][a-zA-Z]+\.?\s+\d{1,2}(?:,\s*\d{4})?)"
    r"(?:\s*\([A-Za-z]+\))?" + _DATELINE_DASH
)
# A dateline without a date: an upper-case place of three letters or more, maybe a country, then
# a dash ("SEOUL - ", "SAN ANDRES, Colombia - "); "US - China talks" is not one.
_PLACE_LINE = re.compile(r"^\s*[A-Z]{3}[A-Z.'/\- ]{0,40}(?:,\s*[A-Z][A-Za-z ]{1,30})?(?:\s*\([A-Za-z]+\))?" + _DATELINE_DASH)
DATELINE_LINES = 3
"""Datelines are looked for in an article's first few non-empty lines only (header lines may
come before one); further down, a line that looks like one is a sentence."""


def strip_dateline(text: str) -> str:
    """Remove a leading news dateline ("SEOUL, Aug 17 - ", "Pyongyang, May 2 (KCNA) -- ").

    >>> strip_dateline("SEOUL, Aug 17 - The envoy left.")
    'The envoy left.'
    >>> strip_dateline("SAN ANDRES, Colombia - A patrol boat fired.")
    'A patrol boat fired.'
    """
    out = _DATELINE.sub("", text, count=1)
    return _PLACE_LINE.sub("", out, count=1) if out == text else out


def strip_datelines(text: str) -> str:
    r"""``strip_dateline`` on each of the first ``DATELINE_LINES`` non-empty lines of ``text``.

    >>> strip_datelines("Kim visits Moscow\nSEOUL, May 2 - Kim arrived.\nHe met Putin.\nBEIJING - China was told.")
    'Kim visits Moscow\nKim arrived.\nHe met Putin.\nBEIJING - China was told.'
    """
    lines, seen = text.split("\n"), 0
    for k, line in enumerate(lines):
        if seen >= DATELINE_LINES:
            break
        if line.strip():
            seen += 1
            lines[k] = strip_dateline(line)
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _number_forms() -> re.Pattern[str]:
    """The characters NFKC would turn into other digits: superscripts, subscripts, fractions."""
    chars = [chr(c) for c in range(0x80, 0x10000)
             if unicodedata.decomposition(chr(c)).startswith(("<super>", "<sub>", "<fraction>"))]
    return re.compile("[" + re.escape("".join(chars)) + "]")


def _compatibility_forms(text: str) -> str:
    """NFKC (full-width letters, ligatures, odd spaces become plain ones), except where it would
    change a number: a superscript or subscript stays ("km²" is not "km2") and a fraction is
    spelt with a slash ("1½" becomes "1 1/2", not "11⁄2")."""
    if text.isascii() or not _number_forms().search(text):
        return unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for ch in text:
        kind = unicodedata.decomposition(ch)
        if kind.startswith(("<super>", "<sub>")):
            out.append(ch)
        elif kind.startswith("<fraction>"):
            out.append((" " if out and out[-1][-1:].isdigit() else "") + unicodedata.normalize("NFKC", ch).replace("\u2044", "/"))
        else:
            out.append(unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch)
    return unicodedata.normalize("NFC", "".join(out))


def clean_text(text: str) -> str:
    """Normalise Unicode (NFKC, keeping what a number means), quotes and whitespace.

    >>> clean_text("It flew for 1½ hours over 30 km² of sea.")
    'It flew for 1 1/2 hours over 30 km² of sea.'
    """
    text = _compatibility_forms(text)
    text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split text into sentences on ``.``, ``!``, ``?`` followed by a capital or digit.

    Common abbreviations (Mr., U.S., Jan., "No." before a number) do not end a sentence. Newlines
    always do, and so does a full stop glued to the next sentence's capital, as scraped pages often
    have it. A line without any capital letter (a lower-cased data set) splits before any word.
    Other scripts split too: before a letter of a script without case (Korean, Arabic ...), and
    after a Chinese or Japanese full stop, "!" or "?", where no space follows.

    >>> split_sentences("Mr. Kim left. He said no. U.S. officials agreed.")
    ['Mr. Kim left.', 'He said no.', 'U.S. officials agreed.']
    >>> split_sentences("Ahir said in a written reply.The survey is annual.")
    ['Ahir said in a written reply.', 'The survey is annual.']
    >>> split_sentences("typhoon hinnamnor (no. 11) hit geoje. two died.")
    ['typhoon hinnamnor (no. 11) hit geoje.', 'two died.']
    >>> split_sentences("朝鲜发射了导弹。日本表示抗议。")
    ['朝鲜发射了导弹。', '日本表示抗议。']
    """
    out: list[str] = []
    for block in re.split(r"\n+", _CJK_END.sub(lambda m: m.group(0).rstrip() + "\n", text)):
        block = _GLUED.sub(" ", re.sub(r"\s+", " ", block).strip())
        if not block:
            continue
        cased = any(c.isupper() for c in block)
        ends = _SENT_END if cased else _SENT_END_UNCASED
        start = 0
        for m in ends.finditer(block):
            end = m.start(1) + len(m.group(1))  # closing quotes stay
            tokens = block[max(start, end - 200) : end].split()  # the last word only: no re-split of a long run
            raw_last = re.split(r"[^\w.]+", tokens[-1].rstrip(".!?\"')"))[-1] if tokens else ""  # 'said:"No.' -> No
            numbered = raw_last == ("No" if cased else "no") and block[m.end() : m.end() + 1].isdigit()
            initial = not cased and len(raw_last) == 1 and raw_last.isalpha()  # "george w. bush"
            if _is_abbrev(raw_last) or numbered or initial:
                continue
            out.append(block[start:end].strip())
            start = m.end()
        tail = block[start:].strip()
        if tail:
            out.append(tail)
    return out


def _words(text: str) -> list[str]:
    return text.split()


def word_count(text: str) -> int:
    """Words for a length limit: words between spaces, where a run of a script written without
    spaces (Chinese, Japanese, Thai ...) counts as one word per two of its characters.

    >>> word_count("North Korea fired a missile."), word_count("朝鲜发射了一枚导弹。")
    (5, 5)
    """
    n = 0
    for w in text.split():
        unspaced = len(_UNSPACED.findall(w))
        n += max(1, (unspaced + 1) // 2) if unspaced else 1
    return n


def longest_word(text: str) -> int:
    """The length of the longest run of characters between spaces and characters of scripts
    written without spaces (a Chinese sentence is no over-long word).

    >>> longest_word("aaaa bb"), longest_word("朝鲜发射了一枚导弹 on Monday")
    (4, 6)
    """
    return max((len(w) for w in _UNSPACED_OR_SPACE.split(text)), default=0)


def is_mostly_latin(text: str) -> bool:
    """True when more than half the letters of ``text`` are Latin ones (accented too), or it has none.

    >>> is_mostly_latin("Kim met Łukasz Nguyễn."), is_mostly_latin("NATO峰会召开")
    (True, False)
    """
    letters = [c for c in text if c.isalpha()]
    latin = sum(c.isascii() or "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff" for c in letters)
    return not letters or 2 * latin > len(letters)


def is_mostly_unspaced(text: str) -> bool:
    """True when at least half the letters of ``text`` belong to scripts written without spaces.

    >>> is_mostly_unspaced("朝鲜发射了导弹。"), is_mostly_unspaced("He met Xi Jinping 习近平.")
    (True, False)
    """
    letters = sum(c.isalpha() for c in text)
    return letters > 0 and 2 * len(_UNSPACED.findall(text)) >= letters


def _cut_unspaced(sentence: str, max_words: int) -> str:
    """A sentence mostly in a script written without spaces cut to its longest beginning within
    ``max_words`` (as :func:`word_count` counts them), at its last clause mark there when one
    falls in the second half."""
    lo, hi = 0, len(sentence)  # word_count grows with the prefix: bisect for the longest that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if word_count(sentence[:mid]) <= max_words else (lo, mid - 1)
    head = sentence[:lo]
    cut = max(head.rfind(c) for c in ",;:\u3001\uff0c\uff1b")
    return _close(head[:cut] if cut > len(head) // 2 else head)


def trim_to_sentences(text: str, max_words: int = 45) -> str:
    """Keep the leading complete sentences whose words fit within ``max_words``.

    If even the first sentence is longer, it is cut as :func:`fit_words` cuts it; when no clause
    boundary allows that, it is cut at the last "and", "which", "after" ... within the limit, or at
    the limit, and closed with a full stop (a last resort: :func:`fit_words` returns None there).

    >>> trim_to_sentences("A b c d e, f g h i j k.", max_words=6)
    'A b c d e.'
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    sentences = split_sentences(text)
    fitted = _fit_sentences(sentences, max_words)
    if fitted is not None:
        return fitted
    if not sentences:
        return ""
    if is_mostly_unspaced(sentences[0]):
        return _cut_unspaced(sentences[0], max_words)
    words = _words(sentences[0])[:max_words]
    while len(words) > 1 and word_count(" ".join(words)) > max_words:  # a Chinese gloss counts more than one word
        words.pop()
    cut = len(words)
    for i in range(len(words) - 1, max(len(words) // 2, 2) - 1, -1):
        w = words[i]
        if w.endswith((",", ";", ":")):
            cut = i + 1
            break
        if w.lower() in {"and", "which", "who", "while", "after", "as", "but"}:
            cut = i
            break
    return _close(" ".join(words[:cut]))


def fit_words(text: str, max_words: int = 45) -> str | None:
    """The leading complete sentences of ``text`` within ``max_words`` words; if the first
    sentence alone is longer, that sentence cut by :func:`clause_cut`; None when neither is
    possible (so a caller can pick another sentence instead of printing a broken one).

    >>> fit_words("Kim left on Monday. He said nothing.", max_words=5)
    'Kim left on Monday.'
    >>> fit_words("Troops fired shots across the border on Monday, the ministry said in a statement.", max_words=9)
    'Troops fired shots across the border on Monday.'
    >>> fit_words("The envoy of the Republic of Korea to the kingdom of Spain and his family.", max_words=8) is None
    True
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    return _fit_sentences(split_sentences(text), max_words)


def _fit_sentences(sentences: list[str], max_words: int) -> str | None:
    kept: list[str] = []
    count = 0
    for s in sentences:
        n = word_count(s)
        if count + n > max_words:
            break
        kept.append(s)
        count += n
    if kept:
        return _close(" ".join(kept))
    return clause_cut(sentences[0], max_words) if sentences else None


# Words that open a trailing phrase a sentence can lose after a comma ("..., which ...",
# "..., saying ...", "..., a move that ..."). "and", "or" and determiners open one only after a
# clause without a comma of its own (else they may continue a list: "the driver, the owner, and"),
# or, for a determiner, when the tail describes what came before (:func:`_describes`).
_CLAUSE_TAIL = frozenset(
    """which who whose while whereas after as saying according amid before following prompting
    leaving including in with where when despite but citing adding calling declaring ending
    marking killing forcing raising sparking""".split()
)
_LIST_TAIL = frozenset("and or a an the his her its their".split())
# An attribution a sentence can lose: ", officials in Seoul said", ", Yonhap reported", ", the
# Government of the DPRK solemnly declared to the world".
_ATTRIBUTION_TAIL = re.compile(
    r"^[^,;:]{0,100}\b(?:said|says|told|reported|added|announced|declared|stated|confirmed|claimed|noted|warned)\b"
    r"[^,;:]{0,40}[.!?]?[\"']?$"
)
# A kept part must not open with these (it would be a subordinate clause: "When the storm hit.").
_SUBORDINATORS = frozenset("when after although though because if while since as before until once unless whereas".split())
# After these, a kept part needs a verb of its own ("... said on Tuesday that Kim Yo Jong.").
_CLAUSE_OPENERS = frozenset("that who which whom whose where".split())
# Finite verbs a kept clause can show: auxiliaries and common irregular past forms (regular past
# forms end in -ed).
_FINITE_VERBS = frozenset(
    """is are was were has have had will would can could may might must shall should does did do
    says said told met held made took left began ran went came gave sent won lost fell rose struck
    shot fled sought brought built broke chose drew drove flew fought found got hit kept knew led
    let put saw set sold spoke stood swore threw thought wrote became paid laid meant felt heard
    lay spent lent bore tore wore sank rang hung dug""".split()
)
_NOT_VERBS = frozenset("hundred red need speed seed feed bed shed bred sacred naked wicked rugged ragged kindred".split())
_DETERMINERS = frozenset("a an the this that these those its his her their our".split())
_EDGE = "\"'(),;:.!?\u201c\u201d\u2018\u2019"  # punctuation stripped from a word's edges


def _bare(word: str) -> str:
    return word.strip(_EDGE).lower()


def _has_finite_verb(words: list[str]) -> bool:
    """True when some word looks like a finite verb: an auxiliary or common irregular past form,
    or an -ed word that is not hyphenated and does not follow a determiner ("the suspected")."""
    prev = ""
    for w in words:
        x = w.strip(_EDGE)
        if x.islower() and "-" not in x:
            if x in _FINITE_VERBS or (len(x) > 3 and x.endswith("ed") and x not in _NOT_VERBS and prev not in _DETERMINERS):
                return True
        prev = x.lower()
    return False


def _is_main_clause(words: list[str]) -> bool:
    """The heuristic test for a kept part: it does not open with a subordinator, it has a verb,
    and a "that"/"who"/"which" clause in it has a verb of its own."""
    lower = [_bare(w) for w in words]
    if not lower or lower[0] in _SUBORDINATORS or not _has_finite_verb(words):
        return False
    last_opener = max((i for i, w in enumerate(lower) if w in _CLAUSE_OPENERS), default=-1)
    return last_opener < 0 or _has_finite_verb(words[last_opener + 1 :])


def _describes(tail: list[str]) -> bool:
    """True when a tail opening with a determiner reads as a description of what came before
    ("a move that ...", "a step widely seen as ...", "the first ...ing"): a relative word or an
    -ing word within its first four words. A list item ("the owner of the firm") has neither."""
    head = [_bare(w) for w in tail[1:4]]
    return any(w in {"that", "which", "who", "whose", "first", "latest", "largest"} or (len(w) > 4 and w.endswith("ing")) for w in head)


def _balanced(text: str) -> bool:
    return (
        text.count('"') % 2 == 0
        and text.count("\u201c") == text.count("\u201d")
        and text.count("(") == text.count(")")
        and text.count("[") == text.count("]")
    )


def clause_cut(sentence: str, max_words: int = 45) -> str | None:
    """``sentence`` cut at the last comma within ``max_words`` words that is followed by a trailing
    phrase ("which ...", "saying ...", "a move that ...", "the ministry said"), the sentence itself
    when it fits, None when no such cut exists.

    The kept part must be at least 6 words and a third of the sentence, must not open with a
    subordinator ("When ..."), must show a verb (also inside a trailing "that"/"who" clause),
    and must leave quotes and brackets balanced. A heuristic, not a parser: it refuses a cut
    inside a phrase ("near the Musko naval."), and most cuts that would leave a subject without
    its verb, but it can be fooled.

    >>> clause_cut("Seoul recalled its envoy on Monday, a move that angered Beijing and Pyongyang.", 8)
    'Seoul recalled its envoy on Monday.'
    >>> clause_cut("Troops fired warning shots near the line on Monday, officials in Seoul said.", 10)
    'Troops fired warning shots near the line on Monday.'
    >>> clause_cut("When the storm made landfall on Tuesday, the storm knocked out power to the city.", 8) is None
    True
    """
    words = _words(sentence)
    if word_count(sentence) <= max_words:
        return sentence
    top = min(len(words) - 1, max_words)
    while top > 0 and word_count(" ".join(words[:top])) > max_words:  # a Chinese gloss counts more than one word
        top -= 1
    for i in range(top, max(len(words) // 3, 6) - 1, -1):
        if not words[i - 1].endswith((",", ";")):
            continue
        kept, tail = words[:i], words[i:]
        opener = _bare(tail[0])
        ok = (
            opener in _CLAUSE_TAIL
            or (opener in _LIST_TAIL and (not any(w.endswith((",", ";")) for w in kept[:-1]) or _describes(tail)))
            or bool(_ATTRIBUTION_TAIL.match(" ".join(tail)))
        )
        joined = " ".join(kept)
        if ok and _is_main_clause(kept) and _balanced(joined):
            return _close(joined)
    return None


def is_clipped(brief: str, source: str) -> bool:
    r"""True when ``brief`` ends where its source sentence goes on without a comma or stop: its
    last sentence, without the closing punctuation, appears in a line of ``source`` (ignoring
    case) followed by more words, and nowhere followed by an end ("... near the Musko naval."
    from "... near the Musko naval base."). A measure for reports: it counts mid-phrase cuts and
    model beams that stopped early; it does not see a cut at a comma, good or bad.

    >>> is_clipped("Warships hunted near the naval.", "Warships hunted near the naval base. Then they left.")
    True
    >>> is_clipped("Warships hunted near the base.", "warships hunted near the base, officials said.")
    False
    >>> is_clipped("Two missiles were fired.", "Two missiles were fired\nSEOUL - Two missiles were fired on Monday.")
    False
    """
    last = split_sentences_loose(clean_text(brief))[-1:] if brief.strip() else []
    if not last:
        return False
    stem = last[0].rstrip(".!?\"'").lower()
    if not stem:
        return False
    continued = False
    for line in source.splitlines():
        flat = clean_text(line).lower()
        start = flat.find(stem)
        while start != -1:
            after = flat[start + len(stem) : start + len(stem) + 2]
            if after[:1] == " " and after[1:2].isalnum():
                continued = True
            else:
                return False  # the same words end a sentence, a clause or a line somewhere
            start = flat.find(stem, start + 1)
    return continued


def _close(text: str) -> str:
    text = text.strip().rstrip(",;:-\u2013\u2014\u3001\uff0c\uff1b ")
    if text and text[-1] not in ".!?\"'\u3002\uff01\uff1f\u300d\u300f\u061f\u0964":
        text += "\u3002" if re.match(f"[{_CJK}]", text[-1]) and is_mostly_unspaced(text) else "."
    return text


_BASIC_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _basic_tokens(text: str) -> list[str]:
    """Lower-cased, accent-stripped word and punctuation tokens (like BERT's basic tokenizer)."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return _BASIC_TOKEN.findall(text)


def detokenize(text: str) -> str:
    """Join the spaces an uncased word-piece decoder leaves around punctuation.

    >>> detokenize("kim ' s visit , on 3 . 5 per cent ( of gdp ) , ended .")
    "kim's visit, on 3.5 per cent (of gdp), ended."
    """
    t = " " + text.strip() + " "
    t = re.sub(r"\s+", " ", t)
    t = re.sub(r" ' (s|re|ve|ll|d|m|t) ", r"'\1 ", t)
    t = re.sub(r" n ' t ", "n't ", t)
    t = re.sub(r"(\d) ([.,:]) (\d)", r"\1\2\3", t)
    t = re.sub(r"(\d) ([.,:]) (\d)", r"\1\2\3", t)
    t = re.sub(r" ([,.;:!?%)\]])", r"\1", t)
    t = re.sub(r"([(\[$£€]) ", r"\1", t)
    t = re.sub(r"(?<=[A-Za-z]) - (?=[A-Za-z])|(?<=\d) - (?=[a-z])", "-", t)
    t = re.sub(r"(\w) / (\w)", r"\1/\2", t)
    t = re.sub(r'" ([^"]*?) "', r'"\1"', t)
    return t.strip()


@lru_cache(maxsize=64)  # every beam of an article is checked against the same source
def _source_forms(source: str) -> tuple[dict[tuple[str, ...], str], int]:
    """Map the basic-token sequence of each source word to its preferred surface spelling
    (cached: callers must not modify the result)."""
    forms: dict[tuple[str, ...], Counter[str]] = {}
    initial_only: dict[tuple[str, ...], Counter[str]] = {}
    longest = 1
    source = strip_datelines(source)
    for sentence in split_sentences(source):
        words = sentence.split()
        for i, raw in enumerate(words):
            variants = {raw, raw.strip("\"'()[],.;:!?"), raw.strip("\"'()[],;:!?")}
            if raw.endswith(("'s", "\u2019s")):
                variants.add(raw[:-2].strip("\"'()[],.;:!?"))
            for w in variants:
                if not w or not any(c.isalnum() for c in w):
                    continue
                key = tuple(_basic_tokens(w))
                if not key:
                    continue
                longest = max(longest, len(key))
                table = initial_only if i == 0 else forms
                table.setdefault(key, Counter())[w] += 1
    chosen: dict[tuple[str, ...], str] = {}
    for key, counts in initial_only.items():
        form = counts.most_common(1)[0][0]
        low = " ".join(key)
        if form[:1].isupper() and form[1:].islower() and low in STOPWORDS and low not in _MONTHS_DAYS:
            form = form.lower()
        chosen[key] = form
    for key, counts in forms.items():
        chosen[key] = counts.most_common(1)[0][0]
    shouting = is_shouting(source)
    for key, form in chosen.items():
        letters = [c for c in form if c.isalpha()]
        if letters and form.isupper() and (len(letters) > 1 or shouting):  # datelines: "SEOUL, Aug 17 -"; "A" in capitals
            others = [f for f in (forms.get(key, Counter()) + initial_only.get(key, Counter())) if not f.isupper()]
            if others:
                chosen[key] = others[0]
            elif shouting:  # an all-capitals article says nothing of case: lower case, as an uncased model's words
                chosen[key] = re.sub(r"[a-z]+", lambda m: _model_word_case(m.group(0), ""), form.lower())
            elif len(letters) > 4:
                chosen[key] = re.sub(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?", lambda m: m.group(0).capitalize(), form)
    return chosen, longest


def restore_case(brief: str, source: str) -> str:
    """Restore the spelling of ``brief`` (e.g. uncased model output) from ``source``.

    Each run of tokens that spells a word of the source is replaced by the source's own most
    frequent spelling (``kim jong - un`` -> ``Kim Jong-un``, ``u . s .`` -> ``U.S.``); other
    words keep their case (lower case from an uncased model). Then every sentence starts with a
    capital and ``i`` becomes ``I``, so the result is never all lower case unless it has no
    letters.

    >>> restore_case("the u . s . and north korea met in 2024 .", "The U.S. and North Korea met.")
    'The U.S. and North Korea met in 2024.'
    """
    tokens = _BASIC_TOKEN.findall(brief)
    lowered = [t.lower() for t in _basic_tokens(brief)]
    if len(lowered) != len(tokens):  # accent stripping changed the tokenisation
        tokens = lowered
    forms, longest = _source_forms(source)
    pieces: list[str] = []
    i = 0
    while i < len(tokens):
        match = None
        for n in range(min(longest, len(tokens) - i), 0, -1):
            key = tuple(lowered[i : i + n])
            if key in forms and (n > 1 or any(c.isalnum() for c in key[0])):
                match = (n, forms[key])
                break
        if match is None:  # a word the source does not spell: the uncased model's own
            pieces.append(_model_word_case(tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""))
            i += 1
        else:
            pieces.append(match[1])
            i += match[0]
    text = detokenize(" ".join(pieces))
    return sentence_case(text)


def _model_word_case(token: str, following: str) -> str:
    """The case of an uncased model's word that the source does not spell: ``I``, months, days."""
    if token == "i":
        return "I"
    if token in _MONTHS_DAYS and (token != "may" or following.isdigit()):
        return token.capitalize()
    return token


WEB_ADDRESS = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S*[\w/]|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?-i:[a-z]{2,})\b(?:/\S*[\w/])?", re.I)
"""A URL, e-mail address or bare domain (``kcna.kp``, ``yna.co.kr``: a lower-case last part of two
letters or more, so "U.S." is none): text that casing must leave as it is."""


def has_words(text: str) -> bool:
    """True when ``text`` holds a word of two letters or more outside web addresses.

    >>> has_words("https://example.com/x"), has_words("See example.com today")
    (False, True)
    """
    return bool(re.search(r"[^\W\d_]{2,}", WEB_ADDRESS.sub(" ", text)))


def sentence_case(text: str) -> str:
    """Capitalise the first letter of each sentence; in all-lower-case text (an uncased model's
    words) also the pronoun ``i``, months and days. Text with capitals of its own (a sentence
    copied from the article) keeps every other letter as it is, unless it is all capitals (then
    it is lower-cased first); web addresses are left alone.

    >>> sentence_case("he left on monday. i stayed.")
    'He left on Monday. I stayed.'
    >>> sentence_case("Protesters plan to march on the embassy, i.e. the mission.")
    'Protesters plan to march on the embassy, i.e. the mission.'
    >>> sentence_case("www.example.com/i has it.")
    'www.example.com/i has it.'
    """
    kept: list[str] = []

    def keep(m: re.Match) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    masked = WEB_ADDRESS.sub(keep, text.replace("\x00", ""))
    if is_shouting(masked):  # a sentence copied from an all-capitals article: written as an uncased model's words
        masked = masked.lower()
    text = _sentence_case(masked, lexical=is_all_lower(masked))
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _sentence_case(text: str, lexical: bool) -> str:
    if lexical:
        text = re.sub(r"\bi\b", "I", text)
        months_days = "|".join(sorted(_MONTHS_DAYS - {"may"}))
        text = re.sub(rf"\b({months_days})\b", lambda m: m.group(1).capitalize(), text)
        text = re.sub(r"\bmay(?= \d)", "May", text)
    out = []
    for s in split_sentences_loose(text):
        for j, c in enumerate(s):
            if c.isalpha():
                s = s[:j] + c.upper() + s[j + 1 :]
                break
            if c.isdigit():
                break
        out.append(s)
    return " ".join(out)


def split_sentences_loose(text: str) -> list[str]:
    """Split on sentence punctuation followed by a space, whatever the next letter's case."""
    out: list[str] = []
    for part in re.split(r"(?<=[.!?])\s+", text.strip()):
        if not part:
            continue
        prev = out[-1].split()[-1].rstrip(".!?\"')") if out else ""
        if out and out[-1].endswith(".") and _is_abbrev(prev):
            out[-1] = out[-1] + " " + part
        else:
            out.append(part)
    return out


def is_shouting(text: str) -> bool:
    """True for text in capitals: over half of 12 or more letters upper case (news runs about 5%).

    >>> is_shouting("NORTH KOREA FIRED TWO MISSILES."), is_shouting("NATO and the EU met in Brussels.")
    (True, False)
    """
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) > 0.5 * len(letters)


def is_all_lower(text: str) -> bool:
    """True when ``text`` has letters and none of them is upper case."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and not any(c.isupper() for c in letters)


def repeated_ngrams(text: str, n: int = 3) -> list[tuple[str, ...]]:
    """The word n-grams (lower-cased, punctuation ignored) that occur more than once.

    >>> repeated_ngrams("the army said the army said no", n=3)
    [('the', 'army', 'said')]
    """
    counts = Counter(_word_ngrams(text, n))
    return [g for g, c in counts.items() if c > 1]


def _word_ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    """The word n-grams of ``text`` in order: basic tokens, lower-cased, punctuation dropped."""
    words = [w for w in _basic_tokens(text) if any(c.isalnum() for c in w)]
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


_DANGLING = _LIST_TAIL | {"of", "to", "in", "on", "at", "by", "for", "with", "from"}
"""Words a cut sentence must not end on ("... the fifth meeting of")."""


def cut_before_repeat(sentence: str, n: int = 3, min_words: int = 8) -> str | None:
    """``sentence`` cut just before the first word n-gram it repeats, when what is kept is a main
    clause of ``min_words`` words or more (None otherwise, or when it repeats nothing). For an
    extracted sentence that says "of the DPRK" twice: its first part is a brief that repeats nothing.

    >>> cut_before_repeat("A delegation of the DPRK ministry left Pyongyang on Monday to attend the fifth meeting "
    ...                   "of the DPRK-Russia working group.")
    'A delegation of the DPRK ministry left Pyongyang on Monday to attend the fifth meeting.'
    """
    words = _words(sentence)
    flat = [(t, i) for i, w in enumerate(words) for t in _basic_tokens(w) if any(c.isalnum() for c in t)]
    seen: set[tuple[str, ...]] = set()
    cut = None
    for p in range(len(flat) - n + 1):
        gram = tuple(t for t, _ in flat[p : p + n])
        if gram in seen:
            cut = flat[p][1]
            break
        seen.add(gram)
    if cut is None:
        return None
    kept = words[:cut]
    while kept and _bare(kept[-1]) in _DANGLING:
        kept.pop()  # "... the fifth meeting of" -> "... the fifth meeting"
    text = " ".join(kept)
    if len(kept) < min_words or not _is_main_clause(kept) or not _balanced(text):
        return None
    return _close(text)


def has_repeated_ngrams(text: str, n: int = 3) -> bool:
    """True when some word n-gram occurs twice (a decoding loop)."""
    return bool(repeated_ngrams(text, n))


def has_stutter(text: str, max_n: int = 3) -> bool:
    """True when a run of 1-3 words is immediately repeated ("consul-consul", "Havana and Havana").

    >>> has_stutter("the vice-consul-consul left")
    True
    >>> has_stutter("North Korea and South Korea met")
    False
    """
    words = [w for w in _basic_tokens(text) if any(c.isalnum() for c in w)]
    for n in range(1, max_n + 1):
        for i in range(len(words) - 2 * n + 1):
            if words[i : i + n] == words[i + n : i + 2 * n]:
                return True
    for i in range(len(words) - 2):  # "Havana and Havana"
        if words[i] == words[i + 2] and words[i + 1] in {"and", "of", "or", "-"}:
            return True
    return False


def _norm_entity(token: str) -> str:
    token = token.strip("\"'()[],.;:!?")
    if token.endswith(("'s", "\u2019s")):
        token = token[:-2]
    token = unicodedata.normalize("NFD", token.lower())
    token = "".join(c for c in token if unicodedata.category(c) != "Mn")
    if re.fullmatch(r"[\d.,]+", token):
        token = token.replace(",", "").rstrip(".")
    return token


def entities(brief: str) -> list[str]:
    """Names and numbers in ``brief``: capitalised words (not sentence-initial stopwords) and
    tokens with digits, normalised (lower case, no possessive, no thousands separators).

    >>> entities("The army of North Korea fired 2 missiles on Tuesday.")
    ['north', 'korea', '2']
    """
    found: list[str] = []
    for sentence in split_sentences_loose(brief):
        for i, raw in enumerate(sentence.split()):
            for part in re.split(r"[-/\u2013\u2014]", raw):
                tok = part.strip("\"'()[],.;:!?")
                if not tok:
                    continue
                norm = _norm_entity(tok)
                if not norm:
                    continue
                if any(c.isdigit() for c in tok):
                    found.append(norm)
                elif tok[0].isupper() and norm not in STOPWORDS:
                    found.append(norm)
                elif tok[0].isupper() and i > 0 and norm not in _MONTHS_DAYS and norm in STOPWORDS:
                    continue
    return found


@lru_cache(maxsize=64)
def _source_vocab(source: str) -> frozenset[str]:
    vocab: set[str] = set()
    for raw in source.split():
        for part in re.split(r"[-/\u2013\u2014]", raw):
            norm = _norm_entity(part)
            if norm:
                vocab.add(norm)
                vocab.update(t for t in _basic_tokens(norm) if t.isalnum())
    return frozenset(vocab)


def unsupported_entities(brief: str, source: str) -> list[str]:
    """The names and numbers of ``brief`` that ``source`` does not contain.

    >>> unsupported_entities("Kim met Putin in Beijing.", "Kim Jong Un met Vladimir Putin.")
    ['beijing']
    """
    vocab = _source_vocab(source)
    return [e for e in entities(brief) if e not in vocab]


def entity_precision(brief: str, source: str) -> float:
    """Share of the names and numbers in ``brief`` found in ``source`` (1.0 when there are none).

    Matching is case- and accent-insensitive, word by word (``North Korea`` counts as two).

    >>> entity_precision("North Korea fired 3 missiles.", "North Korea fired two missiles.")
    0.6666666666666666
    """
    ents = entities(brief)
    if not ents:
        return 1.0
    vocab = _source_vocab(source)
    return sum(e in vocab for e in ents) / len(ents)


def novel_ngrams(brief: str, source: str, n: int = 3) -> list[str]:
    """Word ``n``-grams of ``brief`` that ``source`` never has (case and punctuation ignored).

    Each marks a seam where a generated brief leaves the article's wording: a paraphrase, a
    fusion, or a deletion that broke the grammar ("soldiers armed axes"), joined two names ("North
    Korean Command") or jumped across a shared word to another fact ("to face Ireland in 1998",
    from "... face Ireland in the Six Nations ..." and "... on tour in 1998"). A sentence copied
    from the article has none.

    >>> novel_ngrams("Soldiers armed axes attacked.", "Soldiers armed with axes attacked the post.")
    ['soldiers armed axes', 'armed axes attacked']
    >>> novel_ngrams("Bell will face Ireland in 1998.", "Bell will face Ireland in Dublin. He toured in 1998.")
    ['ireland in 1998']

    N-grams are taken within sentences and paragraphs (a hard-wrapped line is no boundary), so
    running two sentences together is a seam too:

    >>> novel_ngrams("Talks ended in Dublin he toured.", "Talks ended in Dublin. He toured.")
    ['in dublin he', 'dublin he toured']
    """
    if n < 1:
        raise ValueError(f"n={n}: an n-gram needs at least one word")
    grams = _sentence_ngrams(source, n)
    return [" ".join(g) for part in _sentences_and_paragraphs(brief) for g in _word_ngrams(part, n) if g not in grams]


def _sentences_and_paragraphs(text: str) -> list[str]:
    return [s for part in re.split(r"\n[ \t]*\n", text) for s in split_sentences_loose(part)]


@lru_cache(maxsize=64)  # every beam of an article is checked against the same source
def _sentence_ngrams(source: str, n: int) -> frozenset[tuple[str, ...]]:
    return frozenset(g for part in _sentences_and_paragraphs(source) for g in _word_ngrams(part, n))


def novel_words(brief: str, source: str, known: Iterable[str] = ()) -> list[str]:
    """Words of ``brief`` absent from ``source`` and from the ``known`` vocabulary.

    With ``known`` set to the whole words of a model's vocabulary this finds invented words such
    as broken copies of rare names ("panmunjocation"), which an uncased model cannot mark with a
    capital letter.

    >>> novel_words("they met at panmunjocation", "They met at Panmunjom.", known={"they", "met", "at"})
    ['panmunjocation']
    """
    vocab = _source_vocab(source)
    known_set = set(known)
    out = []
    for w in _basic_tokens(brief):
        if w.isalnum() and len(w) > 1 and not w.isdigit() and w not in vocab and w not in known_set:
            out.append(w)
    return out


def _lower_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _opening_sentences(text: str) -> list[str]:
    """The article's sentences, line by line (so header lines stay apart), datelines removed."""
    sentences: list[str] = []
    for line in strip_datelines("\n".join(clean_text(line) for line in text.splitlines())).split("\n"):
        if line:
            sentences += [x for x in split_sentences(line) if x.strip()]
    return sentences


def body_sentences(text: str, title: str | None = None) -> list[str]:
    r"""The article's sentences, line by line, datelines removed, without a line that repeats the
    title (pages often print their headline again above the text).

    >>> body_sentences("Kim visits Moscow\nSEOUL, May 2 - Kim arrived. He met Putin.", "Kim visits Moscow")
    ['Kim arrived.', 'He met Putin.']
    """
    sentences = _opening_sentences(text)
    if not title:
        return sentences
    words = _lower_words if is_mostly_latin(title) else _any_words  # a title mostly in another script: any script's words
    head = words(title)
    return [x for x in sentences if not head or words(x) != head]


def _any_words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def novel_content_words(brief: str, source: str, prefix: int = 5) -> list[str]:
    """Content words of ``brief`` (any case) whose first ``prefix`` letters start no source word.

    Catches lower-case words the name check cannot see ("south korea's embassy" in an article
    about Sudan) while letting inflections pass ("defected" for "defection").

    >>> novel_content_words("South Korea's embassy defected", "The embassy reported a defection.")
    ['south', 'korea']
    """
    stems = {w[:prefix] for w in _lower_words(source)}
    out = []
    for w in _lower_words(brief):
        if w in STOPWORDS or len(w) < 3 or w.isdigit():
            continue
        if w[:prefix] not in stems:
            out.append(w)
    return out


def content_stems(text: str) -> set[str]:
    """The first five letters of each content word (no stopword, at least three letters), so
    inflections match ("defected", "defection").

    >>> sorted(content_stems("The envoy defected to Seoul"))
    ['defec', 'envoy', 'seoul']
    """
    return {w[:5] for w in _lower_words(text) if w not in STOPWORDS and len(w) > 2}


_CLIPPED_TIME = re.compile(r"\d\s*[ap]\.[\"'\u201d\u2019]?$", re.IGNORECASE)


def is_sentence(text: str, min_words: int = 6) -> bool:
    """True when ``text`` reads as a sentence rather than a bare header or name list: at least
    ``min_words`` words, one of them a lower-case content word, and not ending in a clipped
    "a.m." or "p.m." after a number ("at about 3:17 a.").

    >>> is_sentence("Central Disaster and Safety Countermeasures Headquarters.")
    False
    >>> is_sentence("North Korea fired two missiles on Monday.")
    True
    >>> is_sentence("North Korea launched a missile at about 3:17 a.")
    False
    >>> is_sentence("The ministry said it had no budget for a Plan B.")
    True
    """
    words = re.findall(r"[A-Za-z][\w'-]*", text)
    if len(words) < min_words or _CLIPPED_TIME.search(text.strip()):
        return False
    return any(w.islower() and w not in STOPWORDS and len(w) > 2 for w in words)


def lead_sentence(text: str, max_words: int = 45) -> str:
    r"""The article's first sentence that reads as a sentence (dateline removed, header lines
    skipped), trimmed to ``max_words``; the first sentence when none does.

    >>> lead_sentence("Ministry of Unification\nSEOUL, May 2 - Two fishermen crossed the sea border near Yeonpyeong on Monday.")
    'Two fishermen crossed the sea border near Yeonpyeong on Monday.'
    """
    sentences = _opening_sentences(text)
    if not sentences:
        return ""
    best = next((x for x in sentences if is_sentence(x, 8)), sentences[0])
    return sentence_case(trim_to_sentences(best, max_words))


def title_sentence(text: str, title: str | None, max_words: int = 45, window: int = 6) -> str:
    """The lead sentence, unless it shares fewer than two content words with the title and one
    of the next sentences (within ``window``) shares more: then the one sharing most (earliest
    on ties). Features and op-eds often open with a scene; the sentence that echoes the title
    names the event. Without a title: the lead sentence.

    >>> title_sentence("The noise starts at night. Villagers say North Korean loudspeakers have blasted noise since July.",
    ...                "North Korean loudspeakers keep border villagers awake")
    'Villagers say North Korean loudspeakers have blasted noise since July.'
    """
    if not title or not title.strip():
        return lead_sentence(text, max_words)
    keys = content_stems(title)
    sentences = [x for x in body_sentences(text, title)[:window] if is_sentence(x, 8)]
    if not sentences or not keys:
        return lead_sentence(text, max_words)

    def overlap(sentence: str) -> int:
        return len(keys & {w[:5] for w in _lower_words(sentence)})

    best = max(sentences, key=lambda x: (overlap(x), -sentences.index(x)))
    chosen = sentences[0] if overlap(sentences[0]) >= min(2, overlap(best)) else best
    return sentence_case(trim_to_sentences(chosen, max_words))


def select_sentences(text: str, title: str | None = None, max_words: int = 180) -> list[str]:
    """Pick the lead and the most salient sentences of ``text`` within ``max_words``, in order.

    Salience = a position prior (earlier is better) plus the share of the sentence's content words
    shared with the title and the first sentence. The first sentence is always kept. Used to build
    the model input of long articles instead of plain truncation.

    >>> select_sentences("A b c. D e f. G h i.", max_words=6)
    ['A b c.', 'D e f.']
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    total = sum(len(s.split()) for s in sentences)
    if total <= max_words:
        return sentences
    key_words = {w for w in _basic_tokens((title or "") + " " + sentences[0]) if w.isalnum() and w not in STOPWORDS}
    scores = []
    for i, s in enumerate(sentences):
        words = [w for w in _basic_tokens(s) if w.isalnum() and w not in STOPWORDS]
        overlap = sum(w in key_words for w in words) / (len(words) + 3) if words else 0.0
        scores.append(1.0 / (1.0 + 0.5 * i) + overlap + (10.0 if i == 0 else 0.0))
    chosen: set[int] = set()
    used = 0
    for i in sorted(range(len(sentences)), key=lambda j: -scores[j]):
        n = len(sentences[i].split())
        if used + n > max_words:
            if i == 0:  # a huge first sentence: keep its head
                chosen.add(0)
                used = max_words
            continue
        chosen.add(i)
        used += n
    out = []
    for i in sorted(chosen):
        s = sentences[i]
        if i == 0 and len(s.split()) > max_words:
            s = " ".join(s.split()[:max_words])
        out.append(s)
    return out
