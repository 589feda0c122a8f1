"""Does a brief name the article's main actor and event? Scored against hand labels, not ROUGE.

Issue #5 asks that briefs "name the right actor and event". ROUGE cannot tell: on the corpus, the
sentence with the highest ROUGE-L against the reference is often a long detail sentence ("the
missile was fired at 3:17 a.m. from Pyongsong ...") that never says who fired it. So each candidate
sentence the summariser can extract (``defsum.salience.candidates``) carries a label, 1 when the
sentence on its own names the main actor and the main event of the article's reference brief
(``data/brief_labels/``, rubric in ``data/README.md``). Labelled splits: the corpus ``train``,
``validation`` and ``test`` splits, and two sets of real news from ../shared/data/summaries:
``real-dev`` (Inshorts and CNN/DailyMail validation buckets) and ``real-heldout`` (the held-out
Inshorts and CNN/DailyMail articles of the summariser report; not BBC, whose references are
extracted sentences in shuffled order, so they state no single main event). Real-news labels name each
sentence by a hash of its text, so no shared text is copied into the project.

For each system this reports the share of articles whose brief is a sentence labelled 1, and
how many briefs match no labelled sentence (a model rewording, or candidates that changed since
the labels were made: those count as misses and are listed). "Best extracted sentence" is the
ceiling of any extractive brief: the share of articles with at least one sentence labelled 1.

    python eval/actor_event.py --split test --out eval/reports/actor_event_test.json
    python eval/actor_event.py --split real-heldout --out eval/reports/actor_event_real-heldout.json

The labels fit the sentences ``salience.candidates`` extracts today; if that changes, the script
refuses to score until the changed articles are relabelled.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from defsum import briefs, salience  # noqa: E402
from defsum.data import parse_pair_spec, read_pair_spec, read_records  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402

MAX_WORDS = 45
"""The brief length the labelled sentences were extracted with (the summariser's default)."""
SAMPLES = 20
"""eval/reports/summarizer.md prints the first 20 briefs of the test split."""
CORPUS_SPLITS = ("train", "validation", "test")
_S = "../shared/data/summaries"
REAL_SPLITS = {
    "real-dev": [f"{_S}/inshorts.jsonl,name=inshorts-dev,title=headline,buckets=1",
                 f"{_S}/frank_cnndm_xsum.jsonl,name=cnndm-dev,filter=source=cnndm,buckets=1"],
    "real-heldout": [f"{_S}/inshorts.jsonl,name=inshorts-heldout,title=headline,heldout=1,limit=60",
                     f"{_S}/frank_cnndm_xsum.jsonl,name=cnndm-heldout,filter=source=cnndm,heldout=1,limit=60"],
}
"""Real-news label sets: data specs (``defsum.data.parse_pair_spec``, paths relative to the repo)."""


def normalise(sentence: str) -> str:
    """Lower case, single spaces: a brief and a labelled sentence match when these agree."""
    return " ".join(sentence.lower().split())


def sentence_key(sentence: str) -> str:
    """The key a brief and a labelled sentence are matched on: a hash of :func:`normalise`.

    >>> sentence_key("Kim  fled.") == sentence_key("kim fled.")
    True
    """
    return hashlib.sha1(normalise(sentence).encode("utf-8")).hexdigest()[:16]


def load_labels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{article key: {sentence key: 0 or 1}}`` from a ``data/brief_labels`` file, in file order.

    An article's key is its ``id``, or ``set/id`` when the record names its ``set``; each sentence
    gives its ``text`` or the ``sha1`` :func:`sentence_key` of it. Raises ``ValueError`` naming the
    file and line for a malformed record, a label other than 0 or 1, or an id or sentence given twice.
    """
    out: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{i}"
            try:
                rec = json.loads(line)
                pairs = [(s["sha1"] if "sha1" in s else sentence_key(s["text"]), s["actor_event"]) for s in rec["sentences"]]
                key = f"{rec['set']}/{rec['id']}" if "set" in rec else rec["id"]
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
                raise ValueError(f"{where}: needs 'id' and 'sentences' [{{'text' or 'sha1', 'actor_event': 0|1}}] ({err!r})") from err
            if key in out:
                raise ValueError(f"{where}: id {key!r} is labelled twice")
            bad = [v for _, v in pairs if v not in (0, 1) or isinstance(v, bool)]
            if bad:
                raise ValueError(f"{where}: 'actor_event' must be 0 or 1, got {bad[0]!r}")
            if len({t for t, _ in pairs}) != len(pairs):
                raise ValueError(f"{where}: a sentence of {key!r} is listed twice")
            out[key] = dict(pairs)
    return out


def load_split(split: str) -> list[dict[str, Any]]:
    """The articles of a labelled split as ``{"key", "text", "title", "reference"}`` (real splits
    need ../shared)."""
    if split in CORPUS_SPLITS:
        return [{"key": r["id"], "text": r["text"], "title": r["title"], "reference": r["brief"]}
                for r in read_records(ROOT / "data" / "corpus" / f"{split}.jsonl")]
    rows = []
    for text in REAL_SPLITS[split]:
        spec = parse_pair_spec(text)
        spec["path"] = str(ROOT / spec["path"])
        rows += [{"key": f"{spec['name']}/{r['id']}", "text": r["text"], "title": r["title"], "reference": r["reference"]}
                 for r in read_pair_spec(spec)]
    return rows


def extractable(rows: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Each article's sentences the summariser can extract today (``salience.candidates``); articles
    with none are left out (no brief of theirs can be labelled)."""
    out = {r["key"]: salience.candidates(r["text"], r["title"], MAX_WORDS)[0] for r in rows}
    return {k: v for k, v in out.items() if v}


def stale(sentences: dict[str, list[str]], labels: dict[str, dict[str, int]]) -> list[str]:
    """Articles whose labelled sentences are no longer exactly their :func:`extractable` sentences:
    the labels must be redone for them before scoring."""
    return [i for i, sents in sentences.items() if [sentence_key(x) for x in sents] != list(labels.get(i, {}))]


def lead(sentences: Sequence[str]) -> str:
    """The first extractable sentence, as the summariser would write it ("" when there is none)."""
    return briefs.sentence_case(sentences[0]) if sentences else ""


def score(ids: Sequence[str], chosen: Sequence[str], labels: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Share of ``ids`` whose ``chosen`` brief is a sentence labelled 1; briefs that match no
    labelled sentence of their article count as misses and are listed as ``unlabelled``.

    >>> labels = {"a": {sentence_key("Kim fled."): 1}, "b": {sentence_key("Rain fell."): 0}}
    >>> score(["a", "b"], ["Kim fled.", "Rain fell."], labels)["rate"]
    0.5
    """
    hits, unlabelled = 0, []
    for i, brief in zip(ids, chosen, strict=True):
        label = labels.get(i, {}).get(sentence_key(brief))
        if label is None:
            unlabelled.append(i)
        else:
            hits += label
    return {"n": len(ids), "hits": hits, "rate": round(hits / len(ids), 4) if ids else 0.0, "unlabelled": unlabelled}


def ceiling(ids: Sequence[str], labels: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The best any extracted sentence can do: articles with at least one sentence labelled 1."""
    hits = sum(any(labels.get(i, {}).values()) for i in ids)
    return {"n": len(ids), "hits": hits, "rate": round(hits / len(ids), 4) if ids else 0.0, "unlabelled": []}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--split", default="test", choices=[*CORPUS_SPLITS, *REAL_SPLITS],
                   help="labelled split: a corpus split (data/corpus/SPLIT.jsonl) or a real-news set (REAL_SPLITS)")
    p.add_argument("--labels", default=None, help="label file (default: data/brief_labels/SPLIT.jsonl)")
    p.add_argument("--model", default=None, help="summariser folder (default: the shipped model); briefs of 45 words at most")
    p.add_argument("--out", default=None,
                   help="write the result here as JSON (default: only print it; the shipped reports are "
                        "eval/reports/actor_event_SPLIT.json)")
    args = p.parse_args(argv)
    try:
        rows = load_split(args.split)
    except OSError as err:
        raise SystemExit(f"--split {args.split}: {err} (the real-news splits read ../shared/data beside the checkout)") from err
    labels = load_labels(args.labels or ROOT / "data" / "brief_labels" / f"{args.split}.jsonl")
    sentences = extractable(rows)
    rows = [r for r in rows if r["key"] in sentences]
    changed = stale(sentences, labels)
    if changed:
        raise SystemExit(f"{len(changed)} {args.split} articles (first: {changed[:3]}) have no labels, or labels for other sentences "
                         "than the summariser now extracts (defsum.salience.candidates changed?); relabel them before scoring")
    from defsum.summarizer import Summarizer

    summ = Summarizer.from_pretrained(args.model)
    texts, titles, ids = [r["text"] for r in rows], [r["title"] for r in rows], [r["key"] for r in rows]
    systems: dict[str, Callable[[], list[str]]] = {
        "defsum summariser": lambda: summ.summarize(texts, titles=titles, max_words=MAX_WORDS),
        "first candidate sentence (lead)": lambda: [lead(sentences[i]) for i in ids],
    }
    parts: dict[str, Any] = {"all": list(range(len(ids)))}
    if args.split == "test":
        parts[f"first {SAMPLES} (the printed samples)"] = list(range(SAMPLES))
    if args.split in REAL_SPLITS:
        for name in dict.fromkeys(i.split("/")[0] for i in ids):
            parts[name] = [n for n, i in enumerate(ids) if i.startswith(name + "/")]
    result: dict[str, Any] = {"split": args.split, "model": args.model or "default"}
    for name, run in systems.items():
        chosen = run()
        result[name] = {part: score([ids[n] for n in idx], [chosen[n] for n in idx], labels) for part, idx in parts.items()}
    result["best extracted sentence"] = {part: ceiling([ids[n] for n in idx], labels) for part, idx in parts.items()}
    for name in [k for k in result if isinstance(result[k], dict)]:
        line = [f"{part}: {v['hits']}/{v['n']} ({100 * v['rate']:.0f}%)" + (f", {len(v['unlabelled'])} unlabelled" if v["unlabelled"] else "")
                for part, v in result[name].items()]
        print(f"{name}: " + "; ".join(line))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
