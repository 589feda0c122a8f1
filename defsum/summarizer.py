"""The summariser: one- or two-sentence, cased, faithful briefs from a seq2seq model.

The default model (``defsum/models/summarizer/``) is a small copy-augmented encoder-decoder
(:mod:`defsum.copygen`) trained in this project; any Hugging Face seq2seq checkpoint folder
(T5, BART, PEGASUS) or hub id loads through the same API.

>>> summ = Summarizer.from_pretrained()                                   # doctest: +SKIP
>>> summ.summarize("North Korea fired a ballistic missile on Tuesday ...")  # doctest: +SKIP
'North Korea fired a ballistic missile on Tuesday.'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Sequence, overload

import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from defsum import briefs
from defsum.salience import FILENAME as RANKER_FILE
from defsum.salience import SentenceRanker
from defsum.copygen import CopyGenForConditionalGeneration  # also registers "defsum-copygen" with the Auto classes
from defsum.checks import as_texts, as_titles, check_count, check_device, check_text, check_title
from defsum.modelio import (
    ModelLoadError,
    check_vocabulary,
    position_limit,
    load_defsum_config,
    model_load_error,
    pretrained_kwargs,
    reload_float,
    resolve_model_path,
    save_defsum_config,
)
from defsum.precision import autocast, model_precision, prepare_for_inference, resolve_precision
from defsum.progress import progress

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "max_source_tokens": 256,  # encoder input length after sentence selection
    "max_target_tokens": 64,  # decoder length limit
    "input_strategy": "select",  # "select": title + lead/salient sentences; "truncate": plain cut
    "use_title": True,
    "prefix": "",  # e.g. "summarize: " for T5 checkpoints
    "uncased": None,  # None: read from the tokenizer (do_lower_case)
    "no_repeat_ngram_size": 3,
    "length_penalty": 1.0,
    "min_new_tokens": 6,
    "faithfulness_check": True,  # pick the best beam whose names and numbers occur in the source
    # when every beam fails: "lead" (first sentence), "title" (the lead unless a nearby sentence
    # echoes the title better; briefs.title_sentence), "salient" (the sentence the trained ranker
    # in sentence_ranker.safetensors scores highest; defsum.salience) or "best" (the least bad beam);
    # with lead, title or salient, an article with no such sentence (a headline alone) gets "" as its brief
    "fallback": "lead",
    "min_score": None,  # beams whose mean token log-probability is lower count as failed (chosen on validation)
    "max_novel_words": None,  # beams with more content words absent from the article count as failed
    "max_novel_trigrams": None,  # beams with more word trigrams absent from the article count as failed
}
INPUT_STRATEGIES = ("select", "truncate")
DEFAULT_PRECISION = "auto"  # bf16 where the CPU has it (see defsum.precision)
PRECISIONS = ("auto", "fp32", "bf16")
"""The precisions the summariser takes (int8 is the classifier's only)."""
FALLBACKS = ("lead", "title", "salient", "best")


@dataclass(frozen=True)
class Candidate:
    """One decoded beam after casing and trimming, with its faithfulness diagnostics."""

    text: str
    rank: int
    unsupported: tuple[str, ...]
    novel: tuple[str, ...]
    repeated: bool
    score: float | None = None  # the beam's mean token log-probability, when the model gives it
    sentence: bool = True  # at least 6 words and a content word in lower case (not a bare header)
    novel_content: tuple[str, ...] = ()  # content words whose stem is absent from the article
    novel_trigrams: tuple[str, ...] = ()  # word trigrams absent from the article (seams in its wording)
    clipped: bool = False  # ends where its source sentence goes on without a comma or stop

    @property
    def ok(self) -> bool:
        """True when the beam names nothing absent from the source, does not loop, reads as a
        sentence and does not stop mid-phrase where its source sentence goes on (the model's own
        gates, ``min_score``, ``max_novel_words`` and ``max_novel_trigrams``, come on top)."""
        return not self.unsupported and not self.novel and not self.repeated and self.sentence and not self.clipped


def build_source(
    text: str,
    title: str | None = None,
    *,
    strategy: str = "select",
    max_words: int = 180,
    use_title: bool = True,
) -> str:
    """The model input of one article: the title, then the lead and most salient sentences.

    ``strategy="truncate"`` returns the plain text (cut later by the tokenizer), for comparison.

    >>> build_source("First sentence. Second one.", "A title")
    'A title. First sentence. Second one.'
    """
    text = briefs.clean_text(text) if strategy == "truncate" else text
    if strategy == "truncate":
        return text
    if strategy != "select":
        raise ValueError(f"unknown input strategy {strategy!r}; use one of {INPUT_STRATEGIES}")
    head = ""
    if use_title and title and title.strip():
        head = briefs.clean_text(title)
        if head[-1] not in ".!?:":
            head += "."
        max_words = max(max_words - len(head.split()), 20)
    body = " ".join(briefs.select_sentences(briefs.strip_dateline(text), title, max_words=max_words))
    return briefs.clean_text(f"{head} {body}")


class Summarizer:
    """Write one- or two-sentence briefs of articles.

    >>> summ = Summarizer.from_pretrained()          # doctest: +SKIP
    >>> summ.summarize(["text one", "text two"])     # doctest: +SKIP
    ['Brief one.', 'Brief two.']
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        config: dict[str, Any] | None = None,
        device: str = "cpu",
        precision: str | None = None,
        ranker: SentenceRanker | None = None,
    ) -> None:
        if config is not None and config.get("fallback") == "salient" and ranker is None:
            raise ValueError('fallback="salient" needs a SentenceRanker; pass ranker= or use fallback="title"')
        self.ranker = ranker
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.device = check_device(device)
        # None: as the weights are (bf16 or fp32)
        self.precision = model_precision(model, None if precision is None else _summary_precision(precision, self.device))

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls, path: str | Path | None = None, *, device: str = "cpu", precision: str = DEFAULT_PRECISION
    ) -> Summarizer:
        """Load a summariser folder or hub id (``None`` = the default model shipped with defsum).

        ``precision``: ``"auto"`` (bf16 where the hardware has it, else fp32), ``"fp32"``
        or ``"bf16"``.

        >>> Summarizer.from_pretrained("path/to/t5-small-folder")  # doctest: +SKIP
        """
        device = check_device(device)
        _summary_precision(precision, device)  # a bad precision fails before the model loads
        resolved = resolve_model_path(path, "summarizer")
        local = Path(resolved).is_dir()
        config = load_defsum_config(resolved, DEFAULTS) if local else dict(DEFAULTS)
        _check_config(config, resolved)
        ranker = None
        try:
            ranker = SentenceRanker.load(resolved) if local else None
        except ValueError as err:
            if config["fallback"] == "salient":
                raise ModelLoadError(str(err)) from err
            logger.warning("ignoring %s (fallback is %r): %s", resolved, config["fallback"], err)
        if config["fallback"] == "salient" and ranker is None:
            raise ModelLoadError(
                f"{resolved}: fallback='salient' but there is no sentence_ranker.safetensors; fit one with "
                "training/train_sentence_ranker.py or set fallback to 'title' in defsum_config.json"
            )
        try:  # the model first: a hub id that cannot be reached fails once, not once per file kind
            model = AutoModelForSeq2SeqLM.from_pretrained(resolved, dtype=torch.float32, **pretrained_kwargs())
            tokenizer = AutoTokenizer.from_pretrained(resolved, **pretrained_kwargs())
        except Exception as err:  # transformers and safetensors raise many kinds here
            raise model_load_error(resolved, "summariser", err) from err
        check_vocabulary(tokenizer, model, resolved)
        limit = position_limit(model)
        if limit and config["max_source_tokens"] > limit:
            logger.warning("%s: max_source_tokens %d is more than the model's %d positions; inputs are cut to %d tokens",
                           resolved, config["max_source_tokens"], limit, limit)
            config["max_source_tokens"] = limit
        if config["uncased"] is None:
            config["uncased"] = bool(getattr(tokenizer, "do_lower_case", False))
        if not config["prefix"] and getattr(model.config, "model_type", "") == "t5":
            config["prefix"] = "summarize: "
        model.to(device).eval()
        summ = cls(model, tokenizer, config, device, precision, ranker)
        summ.model = prepare_for_inference(model, summ.precision, device)  # bf16: converted in place
        if summ.precision != "fp32":  # saving reads the float weights again
            summ._float_weights = partial(reload_float, resolved, AutoModelForSeq2SeqLM)
        logger.info("loaded summariser %s (%s) on %s, %s", resolved, type(model).__name__, device, summ.precision)
        return summ

    def save_pretrained(self, path: str | Path) -> None:
        """Write weights (safetensors), tokenizer and ``defsum_config.json`` to ``path`` (an
        instance loaded in bf16 writes the float weights, read again from the folder it was loaded from).

        >>> summ.save_pretrained("my-summarizer")  # doctest: +SKIP
        """
        self._check_ready()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        float_weights = getattr(self, "_float_weights", None)
        (float_weights() if float_weights else self.model).save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        save_defsum_config(folder, {k: self.config[k] for k in DEFAULTS})
        if self.ranker is not None:
            self.ranker.save(folder)
        else:
            (folder / RANKER_FILE).unlink(missing_ok=True)  # a stale ranker from an earlier save

    # ------------------------------------------------------------------ inference
    @overload
    def summarize(self, text: str, **kwargs: Any) -> str: ...

    @overload
    def summarize(self, text: Sequence[str], **kwargs: Any) -> list[str]: ...

    def summarize(
        self,
        text: str | Sequence[str],
        *,
        titles: str | Sequence[str | None] | None = None,
        max_words: int = 45,
        num_beams: int = 4,
        batch_size: int = 16,
        show_progress_bar: bool | None = None,
        extractive: bool = False,
    ) -> str | list[str]:
        """Write a brief of each article: one string in, one string out; a list in, a list out.

        Long articles are not cut blindly: the input is the title plus the lead and the most
        salient sentences that fit the encoder (``input_strategy="select"``).

        ``extractive=True`` skips the seq2seq model and returns the sentence the model would fall
        back to (:meth:`extract`) for every article, about 200 times faster. With the shipped model
        that is the same brief wherever none of its beams passes the faithfulness gates: 345 of 348
        articles of the corpus test split and the last 60 items of Inshorts, CNN/DM, BBC and XSum (README).

        >>> summ.summarize("Seoul said on Monday that ...", titles="Diplomat defects")  # doctest: +SKIP
        'Seoul said on Monday that a North Korean diplomat in Cuba had defected.'
        """
        self._check_ready()
        texts, single = as_texts(text)
        title_list = as_titles(titles, len(texts), single)
        for i, t in enumerate(texts):
            check_text(t, "text" if single else f"text {i}")
        max_words = _check_max_words(max_words)
        num_beams = check_count(num_beams, "num_beams")
        batch_size = check_count(batch_size, "batch_size")
        if extractive:
            if self.config["fallback"] == "best":
                raise ValueError("extractive briefs need a sentence to fall back to, but this model's fallback is 'best'; "
                                 "set summ.config['fallback'] to 'lead', 'title' or 'salient' (with a ranker)")
            out = [self.extract(t, h, max_words) for t, h in zip(texts, title_list)]
            return out[0] if single else out

        sources = [self.prepare_input(t, h) for t, h in zip(texts, title_list)]
        order = sorted(range(len(texts)), key=lambda i: -len(sources[i]))
        out: list[str] = [""] * len(texts)
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for batch in progress(batches, show_progress_bar, desc="Summarising", unit="batch"):
            beams = self._generate([sources[i] for i in batch], num_beams, max_words)
            for i, scored in zip(batch, beams):
                out[i] = self._choose(scored, texts[i], title_list[i], max_words)
        return out[0] if single else out

    def prepare_input(self, text: str, title: str | None = None) -> str:
        """The text the encoder reads for one article (title + selected sentences)."""
        cfg = self.config
        words = int(cfg["max_source_tokens"] * 0.7)
        source = build_source(text, title, strategy=cfg["input_strategy"], max_words=words, use_title=cfg["use_title"])
        return cfg["prefix"] + source

    def candidates(self, text: str, title: str | None = None, *, num_beams: int = 4, max_words: int = 45) -> list[Candidate]:
        """All beams for one article with their diagnostics (for inspection and evaluation)."""
        self._check_ready()
        check_text(text)
        check_title(title)
        num_beams, max_words = check_count(num_beams, "num_beams"), _check_max_words(max_words)
        beams = self._generate([self.prepare_input(text, title)], num_beams, max_words)[0]
        return [self._candidate(b, r, text, title, max_words, score) for r, (b, score) in enumerate(beams)]

    def extract(self, text: str, title: str | None = None, max_words: int = 45) -> str:
        r"""The extracted sentence this model falls back to (``config["fallback"]``); "" for "best".

        >>> summ.extract("Ministry of Unification\nSEOUL, May 2 - Two fishermen crossed the sea border near Yeonpyeong on Monday.")  # doctest: +SKIP
        'Two fishermen crossed the sea border near Yeonpyeong on Monday.'
        """
        check_text(text)
        check_title(title)
        max_words = _check_max_words(max_words)
        kind = self.config["fallback"]
        if kind == "salient":
            if self.ranker is None:
                raise ValueError('fallback="salient" needs a SentenceRanker; set summ.ranker or use fallback="title"')
            return self.ranker.best(text, title, max_words)
        if kind == "title":
            return briefs.title_sentence(text, title, max_words)
        return briefs.lead_sentence(text, max_words) if kind == "lead" else ""

    # ------------------------------------------------------------------ internals
    def _check_ready(self) -> None:
        if self.model is None or self.tokenizer is None or self.config is None:
            raise RuntimeError("this Summarizer has no model; load one with Summarizer.from_pretrained(path)")

    def _generate(self, sources: list[str], num_beams: int, max_words: int) -> list[list[tuple[str, float | None]]]:
        """Decoded beams of each source, best first, with their mean token log-probabilities."""
        cfg = self.config
        enc = self.tokenizer(
            sources, max_length=cfg["max_source_tokens"], truncation=True, padding=True, return_tensors="pt"
        )
        max_new = min(cfg["max_target_tokens"], int(max_words * 1.6) + 4)
        kwargs: dict[str, Any] = {
            "num_beams": num_beams,
            "num_return_sequences": num_beams,
            "max_new_tokens": max_new,
            "min_new_tokens": min(cfg["min_new_tokens"], max_new),
            "no_repeat_ngram_size": cfg["no_repeat_ngram_size"],
            "length_penalty": cfg["length_penalty"],
        }
        copygen = isinstance(self.model, CopyGenForConditionalGeneration)
        if copygen:
            kwargs.update(continuation_ids=self._continuation_ids(), return_scores=True)
        elif num_beams > 1:
            kwargs.update(early_stopping=True, output_scores=True, return_dict_in_generate=True)
        with torch.inference_mode(), autocast(self.precision, self.device):
            out = self.model.generate(
                input_ids=enc["input_ids"].to(self.device),
                attention_mask=enc["attention_mask"].to(self.device),
                **kwargs,
            )
        if copygen:
            ids, scores = out
        elif num_beams > 1:
            ids, scores = out.sequences, getattr(out, "sequences_scores", None)
        else:
            ids, scores = out, None
        decoded = self.tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        flat = [None] * len(decoded) if scores is None else [float(x) for x in scores.float().cpu()]
        pairs = list(zip(decoded, flat))
        return [pairs[i * num_beams : (i + 1) * num_beams] for i in range(len(sources))]

    def _continuation_ids(self) -> list[int]:
        ids = getattr(self, "_cont_cache", None)
        if ids is None:
            vocab = self.tokenizer.get_vocab() if hasattr(self.tokenizer, "get_vocab") else {}
            ids = sorted(i for w, i in vocab.items() if w.startswith("##"))
            self._cont_cache = ids
        return ids

    def _known_words(self) -> set[str]:
        known = getattr(self, "_known_cache", None)
        if known is None:
            vocab = self.tokenizer.get_vocab() if hasattr(self.tokenizer, "get_vocab") else {}
            known = {w.lstrip("\u2581\u0120").lower() for w in vocab if w.isascii() and not w.startswith("##")}
            known = {w for w in known if w.isalpha() and len(w) > 1}
            self._known_cache = known
        return known

    def _candidate(
        self, raw: str, rank: int, text: str, title: str | None, max_words: int, score: float | None = None
    ) -> Candidate:
        source = f"{title or ''}\n{text}"
        brief = raw.strip()
        if self.config["uncased"] or briefs.is_all_lower(brief):
            brief = briefs.restore_case(brief, source)
        else:
            brief = briefs.sentence_case(briefs.detokenize(brief))
        if brief and self.config["faithfulness_check"]:
            brief = briefs.fit_words(brief, max_words) or ""  # "" fails the checks: another beam or the fallback
        elif brief:
            brief = briefs.trim_to_sentences(brief, max_words)  # unchecked: the best beam, trimmed
        return self._check(brief, rank, text, title, score)

    def _check(self, brief: str, rank: int, text: str, title: str | None, score: float | None = None) -> Candidate:
        source = f"{title or ''}\n{text}"
        novel = tuple(briefs.novel_words(brief, source, self._known_words())) if self.config["uncased"] else ()
        return Candidate(
            text=brief,
            rank=rank,
            unsupported=tuple(briefs.unsupported_entities(brief, source)),
            novel=novel,
            repeated=briefs.has_repeated_ngrams(brief, 3) or briefs.has_stutter(brief),
            score=score,
            sentence=briefs.is_sentence(brief),
            novel_content=tuple(briefs.novel_content_words(brief, source)),
            novel_trigrams=tuple(briefs.novel_ngrams(brief, source, 3)),
            clipped=briefs.is_clipped(brief, source),
        )

    def passes(self, c: Candidate) -> bool:
        """True when ``c`` passes the checks and this model's gates (``min_score``,
        ``max_novel_words``, ``max_novel_trigrams``)."""
        cfg = self.config
        min_score, max_novel, max_new3 = cfg.get("min_score"), cfg.get("max_novel_words"), cfg.get("max_novel_trigrams")
        confident = c.score is None or min_score is None or c.score >= float(min_score)
        return (
            c.ok
            and confident
            and (max_novel is None or len(c.novel_content) <= int(max_novel))
            and (max_new3 is None or len(c.novel_trigrams) <= int(max_new3))
        )

    def _choose(self, beams: list[tuple[str, float | None]], text: str, title: str | None, max_words: int) -> str:
        cands = [self._candidate(b, r, text, title, max_words, score) for r, (b, score) in enumerate(beams)]
        return self._pick(cands, text, title, max_words)

    def _pick(self, cands: list[Candidate], text: str, title: str | None, max_words: int) -> str:
        cands = [c for c in cands if c.text and len(c.text.split()) >= 3] or cands
        if not self.config["faithfulness_check"]:
            return cands[0].text
        for c in cands:
            if self.passes(c):
                return c.text
        for c in cands:  # the first sentence of a beam whose second sentence went wrong
            first = briefs.split_sentences_loose(c.text)[:1]
            if first and len(first[0].split()) >= 6 and first[0] != c.text:
                short = self._check(first[0], c.rank, text, title, c.score)
                if self.passes(short):
                    return short.text
        if self.config["fallback"] != "best":  # an extracted sentence, or no brief: never a beam that failed the checks
            logger.debug("no faithful beam; falling back to an extracted sentence")
            return self.extract(text, title, max_words)
        return min(cands, key=lambda c: (len(c.unsupported) + len(c.novel), c.repeated, len(c.novel_trigrams), c.rank)).text


def _summary_precision(precision: str, device: str) -> str:
    if precision not in PRECISIONS:
        only = " (int8 is for the classifier only)" if precision == "int8" else ""
        raise ValueError(f"the summariser's precision must be one of {PRECISIONS}, got {precision!r}{only}")
    return resolve_precision(precision, device)


def _check_max_words(max_words: object) -> int:
    return check_count(max_words, "max_words", 5, f"max_words={max_words} is too small for a sentence; use at least 5")


def _check_config(config: dict[str, Any], where: str) -> None:
    if config["input_strategy"] not in INPUT_STRATEGIES:
        raise ModelLoadError(f"{where}: input_strategy={config['input_strategy']!r}; use one of {INPUT_STRATEGIES}")
    if config["fallback"] not in FALLBACKS:
        raise ModelLoadError(f"{where}: fallback={config['fallback']!r}; use one of {FALLBACKS}")
    for key in ("max_novel_words", "max_novel_trigrams"):
        value = config.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ModelLoadError(f"{where}: {key}={value!r}; use null (no limit) or a whole number >= 0")
    if int(config["max_source_tokens"]) < 16:
        raise ModelLoadError(f"{where}: max_source_tokens={config['max_source_tokens']} is too small")
