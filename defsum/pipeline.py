"""The Analyzer: classifier and summariser together, one ``Brief`` per article."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, overload

from defsum.classifier import WINDOW_BATCH, EventClassifier
from defsum.checks import as_texts, as_titles, check_count, check_device
from defsum.io import drop_boilerplate, is_boilerplate, looks_english

if TYPE_CHECKING:
    from defsum.summarizer import Summarizer


@dataclass
class Brief:
    """What defsum says of one article."""

    labels: list[str]
    scores: dict[str, float]
    primary: str
    summary: str | None
    title: str | None = None
    chunked: bool = False
    capped: bool = False
    """True when the article was so long that its tail was not scored."""
    flags: list[str] = field(default_factory=list)
    """``"capped"``, ``"boilerplate_removed"`` (web-page furniture dropped), ``"non_english"``
    (the models read English: its labels mean little), as the CLI's records say them."""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict, ready for JSON."""
        return asdict(self)


class Analyzer:
    """Tag and summarise articles with one call.

    >>> analyzer = Analyzer.from_pretrained()  # doctest: +SKIP
    >>> brief = analyzer.analyze(article_text, titles="Diplomat defects")  # doctest: +SKIP
    >>> brief.primary, brief.summary  # doctest: +SKIP
    ('elite_defection', 'South Korea confirmed ...')
    """

    def __init__(self, classifier: EventClassifier, summarizer: Summarizer | None, *, extractive: bool = False) -> None:
        self.classifier = classifier
        self.summarizer = summarizer
        self.extractive = extractive  # briefs from Summarizer.summarize(extractive=True): no seq2seq decoding

    @classmethod
    def from_pretrained(
        cls,
        classifier: str | Path | None = None,
        summarizer: str | Path | None = None,
        *,
        summarize: bool = True,
        extractive: bool = False,
        device: str = "cpu",
        backend: str = "torch",
        precision: str = "auto",
        token_pruning: bool = True,
    ) -> Analyzer:
        """Load both models (``None`` = the shipped defaults; ``summarize=False`` skips the summariser;
        ``extractive=True`` writes briefs from the summariser's extracted sentence, never its seq2seq model;
        ``backend`` is the classifier's: ``"torch"`` or ``"onnxruntime"``, see ``EventClassifier.from_pretrained``).
        ``precision`` (``"auto"``, ``"fp32"``, ``"bf16"`` or ``"int8"``) is both models'
        arithmetic, except that the summariser has no int8 and runs at ``"auto"`` then.
        ``token_pruning=False`` makes the classifier read every token (its folder's ``token_pruning``
        setting is ignored; :mod:`defsum.token_pruning`).

        >>> Analyzer.from_pretrained(summarize=False, precision="bf16")  # doctest: +SKIP
        """
        device = check_device(device)
        clf = EventClassifier.from_pretrained(classifier, device=device, backend=backend, precision=precision,
                                              token_pruning=token_pruning)
        summ = None
        if summarize:
            from defsum.summarizer import Summarizer

            summ = Summarizer.from_pretrained(summarizer, device=device, precision="auto" if precision == "int8" else precision)
        return cls(clf, summ, extractive=extractive)

    @overload
    def analyze(self, text: str, **kwargs: Any) -> Brief: ...
    @overload
    def analyze(self, text: Sequence[str], **kwargs: Any) -> list[Brief]: ...

    def analyze(
        self,
        text: str | Sequence[str],
        *,
        titles: str | Sequence[str | None] | None = None,
        batch_size: int = 16,
        window_batch: int | None = None,
        show_progress_bar: bool | None = None,
        drop_furniture: bool = True,
    ) -> Brief | list[Brief]:
        """Tag and summarise one article (returns a ``Brief``) or a list (returns a list).

        ``batch_size``: articles per summariser batch; ``window_batch``: classifier windows per
        forward pass (default :data:`defsum.classifier.WINDOW_BATCH`, the fastest on a 2-core CPU;
        raise it on a GPU; an int8 classifier always scores one). ``drop_furniture``: first drop
        web-page furniture lines ("Click here to follow us on Instagram";
        :func:`defsum.io.drop_boilerplate`) and a title that is one, as ``defsum score`` does; the
        brief is flagged ``boilerplate_removed``.

        >>> analyzer.analyze(["text one", "text two"], titles=["One", None])  # doctest: +SKIP
        [Brief(...), Brief(...)]
        """
        texts, single = as_texts(text)
        heads = as_titles(titles, len(texts), single)
        cleaned = [False] * len(texts)
        if drop_furniture:
            texts, cleaned = _without_furniture(texts)
            furniture = [bool(h) and is_boilerplate(h) for h in heads]
            cleaned = [c or f for c, f in zip(cleaned, furniture)]
            heads = [None if f else h for h, f in zip(heads, furniture)]
        batch_size = check_count(batch_size, "batch_size")  # checked here: the classifier runs first
        window_batch = WINDOW_BATCH if window_batch is None else check_count(window_batch, "window_batch")
        preds = self.classifier.predict(
            texts, titles=heads, batch_size=window_batch, show_progress_bar=show_progress_bar
        )
        summaries: list[str | None] = [None] * len(texts)
        if self.summarizer is not None:
            summaries = list(
                self.summarizer.summarize(
                    texts, titles=heads, batch_size=batch_size,
                    show_progress_bar=show_progress_bar, extractive=self.extractive,
                )
            )
        briefs = [
            Brief(
                labels=p.labels, scores=p.scores, primary=p.primary, summary=s, title=h,
                chunked=p.chunked, capped=p.capped,
                flags=["capped"] * p.capped + ["boilerplate_removed"] * c + ["non_english"] * (not looks_english(t)),
            )
            for p, s, h, c, t in zip(preds, summaries, heads, cleaned, texts)
        ]
        return briefs[0] if single else briefs


def _without_furniture(texts: list[str]) -> tuple[list[str], list[bool]]:
    """Each text with its furniture lines dropped (kept whole when nothing else is left), and
    whether any were."""
    out, dropped = [], []
    for text in texts:
        rest, n = drop_boilerplate(text)
        keep = bool(n) and bool(rest.strip())
        out.append(rest if keep else text)
        dropped.append(keep)
    return out, dropped
