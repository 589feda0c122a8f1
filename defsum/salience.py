"""Pick the sentence of an article that best states its news: a small trained sentence ranker.

Features and op-eds open with a scene ("The noise starts, most nights, a little after the
television news."); the sentence that names the actor and the event comes later. The ranker scores
the first :data:`MAX_CANDIDATES` sentence-like sentences of an article with a logistic regression
over cheap text features (position, length, overlap with the title weighted by how rare each title
word is in the article, names, numbers, dates, quotes, pronoun openers) and returns the best one.
It is fitted on articles with reference briefs to rank the sentence with the highest ROUGE-L
against the reference above the others. The summariser uses it as its extracted fallback
(``fallback="salient"``), stored beside the model as ``sentence_ranker.safetensors``.

>>> ranker = SentenceRanker(np.zeros(len(FEATURES)))
>>> ranker.best("The noise starts at night in the village. North Korea fired two missiles on Monday morning.")
'The noise starts at night in the village.'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from defsum import briefs
from defsum.modelio import load_arrays, save_arrays

FILENAME = "sentence_ranker.safetensors"
MAX_CANDIDATES = 10
C_GRID = (0.01, 0.1, 1.0, 10.0)
MAX_WORD_CHARS = 40
"""A "word" longer than this (a run of characters with no space: a URL, an encoded blob) marks text
that is not a sentence; :meth:`SentenceRanker.best` returns no such text as a brief."""

FEATURES = (
    "is_first",  # the first sentence-like sentence
    "inverse_rank",  # 1 / (1 + rank among candidates)
    "relative_position",  # index / number of sentences in the article
    "title_overlap",  # share of the title's content words in the sentence
    "title_overlap_rare",  # the same, each title word weighted by 1 / the sentences that contain it
    "centrality",  # share of the sentence's content words found in 3 or more sentences
    "names",  # capitalised words after the first, per word
    "has_number",
    "has_date",  # a weekday, a month, "today" or "yesterday"
    "has_attribution",  # said, says, told, announced, reported
    "pronoun_start",  # opens with he, she, it, this, but ... (needs context to be understood)
    "quote_start",
    "question",
    "length",  # words / 40 (capped at 60 words)
    "length_squared",
)
_PRONOUNS = frozenset("he she it they this that these those but and his her their its there so yet such we i".split())
_DATE = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|january|february|march|"
    r"april|may|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(r"\b(said|says|told|announced|reported)\b")


def candidates(text: str, title: str | None = None, max_words: int = 45) -> tuple[list[str], np.ndarray]:
    """The candidate sentences of ``text`` and their feature matrix (``len(FEATURES)`` columns).

    Candidates are the first :data:`MAX_CANDIDATES` sentence-like sentences (8 words or more) that
    fit ``max_words`` whole or cut at a clause boundary (:func:`defsum.briefs.fit_words`; the cut
    form is the candidate) and repeat no word trigram, so whichever one is picked is a complete
    sentence within the limit.

    >>> sents, feats = candidates("Kim left Seoul on Monday after the talks ended. He said very little to the reporters waiting there.")
    >>> len(sents), feats.shape
    (2, (2, 15))
    """
    sentences = briefs.body_sentences(text, title)
    chosen = []
    for i, s in enumerate(sentences):
        fitted = briefs.fit_words(s, max_words) if briefs.is_sentence(s, 8) else None
        if fitted and not briefs.has_repeated_ngrams(fitted, 3):
            chosen.append((i, fitted))
        if len(chosen) == MAX_CANDIDATES:
            break
    keys = [briefs.content_stems(s) for s in sentences]
    title_keys = briefs.content_stems(title or "")
    df: dict[str, int] = {}
    for k in keys:
        for w in k:
            df[w] = df.get(w, 0) + 1
    title_weight = sum(1 / df.get(w, 1) for w in title_keys) or 1.0
    n = max(len(sentences), 1)
    rows = []
    for rank, (i, s) in enumerate(chosen):
        k, words = briefs.content_stems(s), s.split()  # of the candidate as shown (a cut one: its kept words)
        shared = title_keys & k
        nw = min(len(words), 60) / 40
        first = briefs._lower_words(s)[:1]
        rows.append([
            rank == 0,
            1 / (1 + rank),
            i / n,
            len(shared) / len(title_keys) if title_keys else 0.0,
            sum(1 / df.get(w, 1) for w in shared) / title_weight if title_keys else 0.0,
            sum(df.get(w, 0) >= 3 for w in k) / (len(k) or 1),
            sum(w[:1].isupper() for w in words[1:]) / len(words),
            bool(re.search(r"\d", s)),
            bool(_DATE.search(s)),
            bool(_ATTRIBUTION.search(s)),
            bool(first) and first[0] in _PRONOUNS,
            s.lstrip()[:1] in "\"'",
            "?" in s,
            nw,
            nw * nw,
        ])
    return [s for _, s in chosen], np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURES))


class SentenceRanker:
    """A linear scorer over :data:`FEATURES`: ``score = features @ weight`` (a ranking needs no bias)."""

    def __init__(self, weight: np.ndarray, c: float | None = None) -> None:
        weight = np.asarray(weight, dtype=np.float32).reshape(-1)
        if weight.shape != (len(FEATURES),):
            raise ValueError(f"ranker weight has {weight.shape[0]} values; expected one per feature ({len(FEATURES)})")
        self.weight = weight
        self.c = c

    def scores(self, text: str, title: str | None = None, max_words: int = 45) -> tuple[list[str], np.ndarray]:
        """Candidate sentences (:func:`candidates`) and their scores (higher = more likely to state
        the news)."""
        sents, feats = candidates(text, title, max_words)
        return sents, feats @ self.weight

    def best(self, text: str, title: str | None = None, max_words: int = 45) -> str:
        """The best-scoring candidate, sentence-cased; when the article has none (text in a script
        other than Latin has none), its first sentence of 4 words or more (else its first) that is
        not the headline, trimmed to ``max_words``; cut before a repeated word trigram
        (:func:`defsum.briefs.cut_before_repeat`) if it has one. "" when it has no sentence, or when
        that sentence still repeats a trigram, holds a "word" over :data:`MAX_WORD_CHARS`
        characters (a script written without spaces aside) or has no word outside web addresses."""
        sents, scores = self.scores(text, title, max_words)
        if not sents:
            body = briefs.body_sentences(text, title)
            lead = next((x for x in body if briefs.word_count(x) >= 4), body[0] if body else "")  # not "北京消息。"
            first = briefs.trim_to_sentences(lead, max_words) if lead else ""
            if briefs.has_repeated_ngrams(first, 3):  # "of the DPRK" twice: its part before the repeat, if a clause
                first = briefs.cut_before_repeat(first) or first
            if (not first or briefs.has_repeated_ngrams(first, 3) or briefs.longest_word(first) > MAX_WORD_CHARS
                    or not briefs.has_words(first)):
                return ""  # a line that repeats itself, is one long run of characters or only a web address is no brief
            return briefs.sentence_case(first)
        return briefs.sentence_case(sents[int(np.argmax(scores))])

    @classmethod
    def fit(
        cls,
        records: Iterable[tuple[str, str | None, str]],
        c: float = 1.0,
        max_words: int = 45,
        weights: Sequence[float] | None = None,
    ) -> SentenceRanker:
        """Fit on ``(text, title, reference)`` triples (needs scikit-learn and rouge-score); the
        same as ``fit_labelled(label(records, max_words), c, weights)``."""
        return cls.fit_labelled(label(records, max_words), c, weights)

    @classmethod
    def fit_labelled(
        cls, articles: Sequence[tuple[np.ndarray, np.ndarray]], c: float = 1.0, weights: Sequence[float] | None = None
    ) -> SentenceRanker:
        """Fit on ``(features, target)`` per article: :func:`label` output (ROUGE-L against a
        reference; label once, fit at many ``c``) or any per-candidate target, such as 0/1 hand
        labels of which sentences state the news (``eval/ranker_objectives.py``).

        Pairwise ranking: within each article, every candidate with the article's highest target
        must outscore every candidate with a lower one (a logistic regression on feature
        differences, as in RankNet / ranking SVMs), each pair weighted by its article's entry in
        ``weights`` (default 1; an article with more candidates gives more pairs). Features are
        standardised for the fit and the scaling folded into the stored weights.
        """
        from sklearn.linear_model import LogisticRegression

        weights = [1.0] * len(articles) if weights is None else list(weights)
        if len(weights) != len(articles):
            raise ValueError(f"got {len(weights)} weights for {len(articles)} records")
        kept = [(f, r, w) for (f, r), w in zip(articles, weights) if len(r)]
        if not kept:
            raise ValueError("no article with a sentence-like candidate to fit the sentence ranker on")
        all_feats = np.vstack([f for f, _, _ in kept])
        mean, scale = all_feats.mean(axis=0), all_feats.std(axis=0)
        scale[scale == 0] = 1.0
        diffs, pair_weights = [], []
        for feats, rouge, weight in kept:
            z = (feats - mean) / scale
            top = float(np.max(rouge))
            best = [i for i in range(len(rouge)) if rouge[i] >= top - 1e-9]
            worse = [j for j in range(len(rouge)) if rouge[j] < top - 1e-9]
            diffs += [z[i] - z[j] for i in best for j in worse]
            pair_weights += [weight] * (len(best) * len(worse))
        if not diffs:
            raise ValueError("no article has a candidate worse than its best; the ranker needs articles with more than one sentence")
        x = np.vstack(diffs + [-d for d in diffs])
        y = np.r_[np.ones(len(diffs)), np.zeros(len(diffs))]
        lr = LogisticRegression(C=c, max_iter=5000, fit_intercept=False).fit(x, y, sample_weight=np.r_[pair_weights, pair_weights])
        return cls(lr.coef_[0] / scale, c)

    def save(self, folder: str | Path) -> None:
        """Write ``sentence_ranker.safetensors`` (the feature names go in its metadata)."""
        save_arrays(Path(folder) / FILENAME, {"weight": self.weight}, {"features": list(FEATURES), "C": self.c})

    @classmethod
    def load(cls, folder: str | Path) -> SentenceRanker | None:
        """The ranker stored in ``folder``, or None when there is none."""
        path = Path(folder) / FILENAME
        try:
            stored = load_arrays(path)
        except Exception as err:  # safetensors raises its own error kinds for a damaged file
            raise ValueError(f"{path} is not a readable safetensors file ({type(err).__name__}: {err}); "
                             "restore it or refit it with training/train_sentence_ranker.py") from err
        if stored is None:
            return None
        arrays, meta = stored
        if "weight" not in arrays:
            raise ValueError(f"{path} holds no ranker weights (tensors {sorted(arrays)}); refit it with "
                             "training/train_sentence_ranker.py")
        if meta.get("features") != list(FEATURES):
            raise ValueError(
                f"{path}: its features {meta.get('features')} are not this defsum's {list(FEATURES)}; "
                "refit it with training/train_sentence_ranker.py"
            )
        return cls(arrays["weight"], meta.get("C"))


def label(records: Iterable[tuple[str, str | None, str]], max_words: int = 45) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each article's candidate features and their ROUGE-L F1 against its reference, one entry
    per record (empty arrays for an article without a candidate; needs rouge-score)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    out = []
    for text, title, reference in records:
        sents, feats = candidates(text, title, max_words)
        rouge = np.array([scorer.score(reference, s)["rougeL"].fmeasure for s in sents])
        out.append((feats, rouge))
    return out


def mean_rouge(articles: Sequence[tuple[np.ndarray, np.ndarray]], ranker: SentenceRanker | None = None) -> float:
    """Mean ROUGE-L F1 x 100 of the candidate ``ranker`` picks (the first candidate, the lead,
    when ``ranker`` is None) over the :func:`label`-ed articles that have a candidate."""
    picked = [rouge[int(np.argmax(feats @ ranker.weight)) if ranker else 0] for feats, rouge in articles if len(rouge)]
    return 100 * float(np.mean(picked)) if picked else 0.0
