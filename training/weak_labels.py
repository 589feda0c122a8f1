"""Derive weakly labelled records from the real text in ../shared/data by documented rules.

The output is generated, never committed (``data/weak/`` is git-ignored). Items whose id hashes
into the held-out pool (``held_out(id)``) are never written: the hand-labelled real-text
evaluation set (``data/real_eval/labels.jsonl``) is drawn from that pool. Nor are the items of the
hand-labelled real-text validation set (``data/real_eval/validation.jsonl``), which come from the
rest of the shared data.

Rules (precision per label is measured on a hand-checked sample, see data/README.md; the rules
were revised once after reading that sample's errors):
- CSIS provocations: provocation; + diplomacy when the description reports an act of diplomacy
  (UN Security Council action, a formal protest, talks held, offered or rejected, a joint
  statement, new sanctions; "UN" matched case-sensitively so "Kim Jong Un" does not count);
  + elite_defection when it says a soldier, officer, diplomat, official or pilot defected.
- CNS missile tests: provocation (descriptions under 8 words are left out).
- KCNA: provocation for headlines on the state's own launches, tests and explicit threats;
  diplomacy for meetings, visits, talks, delegations, agreements and messages between states
  (letters and greetings from parties, associations or diaspora groups do not count); no label
  for home news, society, culture and anecdotes that match neither rule.
- CAMEO sentences: cooperation (codes 1, 2) naming a diplomatic act and an interstate actor ->
  diplomacy; material conflict (4) naming strikes, shelling, missiles or incursions by state
  forces, with no non-state actor named -> provocation; anything else is left out.
- BBC News Summary business, entertainment, sport and tech stories: no label (hard negatives).
- With ``--news-negatives N``: N XSum, Inshorts and CNN/DailyMail (FRANK) stories, known to be
  negative for elite_defection only (``"known_labels": ["elite_defection"]``; the classifier's
  training script leaves their other labels out of the loss). Real defections are rare in general
  news, and stories that use any form of "defect" are left out; what remains teaches the model
  that arrests, killings, spies and asylum seekers are not elite defections.

Usage: python training/weak_labels.py --shared ../shared/data --out data/weak/weak.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from defsum.data import near_copies, write_records  # noqa: E402
from defsum.scripthelp import HelpFormatter  # noqa: E402

# Case-sensitive "UN" so that "Kim Jong Un" does not match; only acts of diplomacy, not background words.
DIPLOMACY = re.compile(
    r"\b(UN Security Council|Security Council (?:meeting|resolution|session)|UN (?:General Assembly|resolution)|"
    r"(?:lodged|filed|issued) (?:a |an )?(?:formal |strong )?protest|condemn(?:ed|s) the|"
    r"(?:held|hold|resumed?|propos\w+|offer\w*|rejected) (?:\w+ )?talks|summit (?:meeting|talks)|"
    r"joint statement|emergency meeting|new sanctions|imposed sanctions|sanctions resolution)\b")
OFFICIAL_DEFECTS = re.compile(r"\b(soldier|officer|diplomat|official|pilot|sergeant|guard)s? (?:who )?defect", re.I)
KCNA_PROVOCATION = re.compile(
    r"\b(test-fir\w*|launch\w*|missile\w*|rocket\w*|artillery|firing drill|nuclear weapon\w*|"
    r"strike|retaliat\w*|warn\w*|satellite|drone\w*|hypersonic|counteraction|ultimatum)\b", re.I)
KCNA_DIPLOMACY = re.compile(
    r"\b(meets|talks|receives|visit\w*|delegation|ambassador|envoy|greetings|message to|letter to|"
    r"agreement|treaty|counterpart|foreign minister|summit|telephone|relations|embassy|reception)\b", re.I)
STATE_SENDER = re.compile(r"\b(president|prime minister|premier|king|emperor|foreign minister|head of state|chairman of the state|government)\b", re.I)
KCNA_NONE_TOPICS = {"Home News", "Society-Life", "Revolutionary Anecdote", "Always in Memory of People",
                    "Celebrations for New Year", "Latest News", "Top News"}
STATE_FORCES = re.compile(r"\b(army|armed forces|military|navy|naval|air force|troops|warplanes?|jets|government forces)\b", re.I)
NON_STATE = re.compile(r"\b(rebels?|militants?|insurgents?|taliban|isis|isil|islamic state|al-qaeda|gunmen|separatists?|jihadists?)\b", re.I)
INTERSTATE = re.compile(r"\b(foreign minister|president|prime minister|ambassador|envoy|governments?|countries|nations|bilateral|delegation)\b", re.I)
CAMEO_DIPLOMACY = re.compile(
    r"\b(talks|met|meet\w*|visit\w*|agree\w*|sign\w*|summit|negotiat\w+|envoy|ambassador|"
    r"foreign minister|diplomatic|treaty|accord)\b", re.I)
CAMEO_PROVOCATION = re.compile(
    r"\b(missile\w*|shell\w*|airstrike\w*|air strike\w*|bomb\w*|artillery|incursion\w*|fired|"
    r"launch\w*|troops|border clash\w*|seiz\w+|drone\w*)\b", re.I)


def held_out(ident: str) -> bool:
    """True for the ~15% of shared items reserved for real-text evaluation (never trained on)."""
    return int(hashlib.sha1(ident.encode()).hexdigest(), 16) % 100 < 15


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _record(ident: str, source: str, title: str, text: str, labels: list[str], primary: str, date: Any = None) -> dict[str, Any]:
    order = ["elite_defection", "provocation", "diplomacy"]
    labels = [label for label in order if label in set(labels)]
    return {"id": ident, "title": title, "text": text, "date": date, "labels": labels, "primary": primary,
            "brief": "", "source_style": f"weak:{source}", "story": ident}


def csis(shared: Path) -> Iterator[dict[str, Any]]:
    for r in _read(shared / "events/csis_nk_provocations.jsonl"):
        text = r["description"]
        labels = ["provocation"]
        if DIPLOMACY.search(text):
            labels.append("diplomacy")
        if OFFICIAL_DEFECTS.search(text):
            labels.append("elite_defection")
        yield _record(r["id"], "csis", r["event"], text, labels, "provocation", r["date"])


def cns(shared: Path) -> Iterator[dict[str, Any]]:
    for r in _read(shared / "events/cns_nk_missile_tests.jsonl"):
        if len(r["description"].split()) < 8:  # e.g. "3 of 5": nothing to learn from
            continue
        title = f"{r['missile']} test at {r['facility']}"
        yield _record(r["id"], "cns", title, r["description"], ["provocation"], "provocation", r["date"])


def kcna(shared: Path) -> Iterator[dict[str, Any]]:
    for r in _read(shared / "corpora/kcna_2024.jsonl"):
        head, body = r["headline"], r["text"][:3000]
        prov = bool(KCNA_PROVOCATION.search(head))
        dipl = bool(KCNA_DIPLOMACY.search(head)) or r["topic"] == "External" and bool(KCNA_DIPLOMACY.search(body[:400]))
        if re.search(r"\b(letter|greetings|message)\b", head, re.I) and not STATE_SENDER.search(head):
            dipl = False  # letters from parties, associations or diaspora groups are not state interaction
        if prov or dipl:
            labels = (["provocation"] if prov else []) + (["diplomacy"] if dipl else [])
            yield _record(r["id"], "kcna", head, body, labels, labels[0], r["date"])
        elif r["topic"] in KCNA_NONE_TOPICS:
            yield _record(r["id"], "kcna", head, body, [], "none", r["date"])


def cameo(shared: Path) -> Iterator[dict[str, Any]]:
    for r in _read(shared / "events/cameo_pentacode_sentences.jsonl"):
        text, code = r["text"], r["pentacode"]
        if code in (1, 2) and CAMEO_DIPLOMACY.search(text) and INTERSTATE.search(text):
            yield _record(r["id"], "cameo", "", text, ["diplomacy"], "diplomacy")
        elif code == 4 and CAMEO_PROVOCATION.search(text) and STATE_FORCES.search(text) and not NON_STATE.search(text):
            yield _record(r["id"], "cameo", "", text, ["provocation"], "provocation")


def bbc_negatives(shared: Path) -> Iterator[dict[str, Any]]:
    for r in _read(shared / "summaries/bbc_news_summary.jsonl"):
        if r["category"] != "politics":
            title, _, body = r["document"].partition("\n\n")
            yield _record(r["id"], "bbc", title.strip(), body.strip()[:3000], [], "none")


SOURCES = {"csis": csis, "cns": cns, "kcna": kcna, "cameo": cameo, "bbc": bbc_negatives}

DEFECT_WORD = re.compile(r"\bdefect", re.I)
NEWS = (("xsum", "summaries/xsum.jsonl", None), ("inshorts", "summaries/inshorts.jsonl", "headline"),
        ("cnndm", "summaries/frank_cnndm_xsum.jsonl", None))


def news_negatives(shared: Path) -> Iterator[dict[str, Any]]:
    """General news stories as elite_defection negatives (their other labels unknown)."""
    for source, path, title_field in NEWS:
        for r in _read(shared / path):
            if not DEFECT_WORD.search(r["document"]):
                rec = _record(r["id"], source, r.get(title_field, "") if title_field else "", r["document"][:3000], [], "none")
                yield {**rec, "known_labels": ["elite_defection"]}


HAND_LABELLED = ("data/real_eval/labels.jsonl", "data/real_eval/validation.jsonl")


def hand_labelled_ids(paths: tuple[str, ...] = HAND_LABELLED) -> set[str]:
    """Ids of the hand-labelled real-text sets (relative paths are from the project root)."""
    root = Path(__file__).resolve().parents[1]
    ids: set[str] = set()
    for path in paths:
        full = root / path
        if full.is_file():
            ids |= {json.loads(line)["id"] for line in full.read_text(encoding="utf-8").splitlines() if line.strip()}
    return ids


def hand_labelled_texts(shared: Path, paths: tuple[str, ...] = HAND_LABELLED) -> list[dict[str, Any]]:
    """The records (with their texts, from ``shared``) of the hand-labelled real-text sets."""
    root = Path(__file__).resolve().parents[1]
    if str(root / "eval") not in sys.path:
        sys.path.insert(0, str(root / "eval"))
    from real_text import load_real_eval

    return [r for path in paths if (root / path).is_file() for r in load_real_eval(shared, root / path)]


def build(shared: Path, limits: dict[str, int], seed: int = 0, drop_copies: bool = True) -> list[dict[str, Any]]:
    """All weak records outside the held-out pool and the hand-labelled sets, at most
    ``limits[source]`` per source (``"news"``: :func:`news_negatives`, only when given a limit).
    With ``drop_copies``, a sampled record whose text is a near-copy of a held-out or hand-labelled
    item's (``defsum.data.near_copies``: the same text under another id) is dropped too."""
    import random

    rng = random.Random(seed)
    excluded = hand_labelled_ids()
    out, protected = [], []
    sources = {**SOURCES, "news": news_negatives} if limits.get("news") else SOURCES
    for name, fn in sources.items():
        rows = [r for r in fn(shared) if r["text"].strip()]
        protected += [r for r in rows if held_out(r["id"]) or r["id"] in excluded]
        rows = [r for r in rows if not held_out(r["id"])]
        rng.shuffle(rows)
        rows = [r for r in rows if r["id"] not in excluded]  # after the shuffle: the sample stays what it was
        out.extend(rows[: limits.get(name, len(rows))])
    if drop_copies:  # the hand-labelled items too, whether or not a source's rules yield them
        copies = set(near_copies(out, protected + hand_labelled_texts(shared)))
        out = [r for r in out if r["id"] not in copies]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("--shared", default="../shared/data", help="folder of the shared data sets")
    parser.add_argument("--out", default="data/weak/weak.jsonl", help="output JSONL (git-ignored)")
    parser.add_argument("--per-source", type=int, default=400, help="at most this many records per source")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the sampling")
    parser.add_argument("--news-negatives", type=int, default=0,
                        help="also write this many general news stories as elite_defection-only negatives (default: 0, none)")
    parser.add_argument("--keep-copies", action="store_true",
                        help="keep sampled records that are near-copies of held-out or hand-labelled items under another id "
                             "(dropped by default; the previous release's weak.jsonl was made before they were, with this flag's behaviour)")
    args = parser.parse_args(argv)
    records = build(Path(args.shared), {**{k: args.per_source for k in SOURCES}, "news": args.news_negatives}, args.seed,
                    drop_copies=not args.keep_copies)
    write_records(args.out, records)
    combos = Counter((r["source_style"], "+".join(r["labels"]) or "none") for r in records)
    for (src, combo), n in sorted(combos.items()):
        print(f"{src:12s} {combo:35s} {n}")
    print(f"{len(records)} weak records -> {args.out}")


if __name__ == "__main__":
    main()
