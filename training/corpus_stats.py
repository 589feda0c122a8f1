"""Print the corpus counts that the datasheet reports and check them against the targets.

Usage: python training/corpus_stats.py [--corpus data/corpus] [--markdown]
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from defsum.data import read_records  # noqa: E402
from defsum.labels import LABELS  # noqa: E402

KOREA = re.compile(r"\b(north kore\w*|south kore\w*|pyongyang|seoul|dprk|rok|korean?s?|kim jong|panmunjom|dmz)\b", re.I)
REGIONS = {
    "Koreas": KOREA,
    "Soviet Union / Russia": re.compile(r"\b(soviet|ussr|moscow|russia\w*|kremlin|kgb)\b", re.I),
    "China / Taiwan": re.compile(r"\b(china|chinese|beijing|taiwan\w*|taipei|pla)\b", re.I),
    "Cold War Europe": re.compile(r"\b(east german\w*|gdr|berlin|czechoslovak\w*|hungar\w*|poland|polish|romania\w*|bulgaria\w*|yugoslav\w*)\b", re.I),
    "Cuba / Latin America": re.compile(r"\b(cuba\w*|havana|venezuela\w*|caracas|nicaragua\w*|colombia\w*|guyana)\b", re.I),
    "Middle East": re.compile(r"\b(syria\w*|iran\w*|iraq\w*|libya\w*|israel\w*|saudi|yemen\w*|gulf|egypt\w*)\b", re.I),
    "Ukraine / Belarus / Caucasus": re.compile(r"\b(ukrain\w*|kyiv|belarus\w*|minsk|georgia\w*|tbilisi|armenia\w*|azerbaijan\w*)\b", re.I),
    "Balkans": re.compile(r"\b(serbia\w*|kosovo|bosnia\w*|croatia\w*|belgrade|albania\w*)\b", re.I),
    "South Asia": re.compile(r"\b(india\w*|pakistan\w*|kashmir|delhi|islamabad)\b", re.I),
    "Africa": re.compile(r"\b(ethiopia\w*|eritrea\w*|sudan\w*|rwanda\w*|congo\w*|somalia\w*|nigeria\w*|kenya\w*)\b", re.I),
    "Japan / Southeast Asia": re.compile(r"\b(japan\w*|tokyo|vietnam\w*|philippin\w*|cambodia\w*|malaysia\w*)\b", re.I),
}


def is_korean(r: dict) -> bool:
    """True when the article is mainly about the Koreas (Korean words make most region hits)."""
    text = f"{r['title']} {r['text']}"
    korea = len(KOREA.findall(text))
    other = sum(len(rx.findall(text)) for name, rx in REGIONS.items() if name != "Koreas")
    return korea > 0 and korea >= other


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="data/corpus")
    args = p.parse_args(argv)
    splits = {n: read_records(Path(args.corpus) / f"{n}.jsonl") for n in ("train", "validation", "test")}
    rows = [r for rs in splits.values() for r in rs]
    words = [len(r["text"].split()) for r in rows]
    print(f"articles: {len(rows)}  (" + ", ".join(f"{n} {len(rs)}" for n, rs in splits.items()) + ")")
    print(f"stories: {len({r['story'] for r in rows})}")
    checks = [("at least 600 articles", len(rows) >= 600)]
    for label in LABELS:
        pos = [r for r in rows if label in r["labels"]]
        non_korea = sum(not is_korean(r) for r in pos)
        print(f"{label}: {len(pos)} positives, {non_korea} ({non_korea / max(len(pos), 1):.0%}) not about the Koreas, "
              f"primary in {sum(r['primary'] == label for r in rows)}")
        checks += [(f"{label} >= 180 positives", len(pos) >= 180), (f"{label} >= 1/3 non-Korea", non_korea * 3 >= len(pos))]
    multi = sum(len(r["labels"]) >= 2 for r in rows)
    none = sum(not r["labels"] for r in rows)
    print(f"two or three labels: {multi} ({multi / len(rows):.0%}); no label: {none}")
    checks += [(">= 25% multi-label", multi * 4 >= len(rows)), (">= 120 with no label", none >= 120)]
    combos = Counter("+".join(r["labels"]) or "none" for r in rows)
    print("label sets: " + ", ".join(f"{k} {v}" for k, v in combos.most_common()))
    print("forms: " + ", ".join(f"{k} {v}" for k, v in Counter(r["source_style"] for r in rows).most_common()))
    bands = Counter("<200" if w < 200 else "200-399" if w < 400 else "400-549" if w < 550 else "550+" for w in words)
    print(f"words: min {min(words)}, mean {sum(words) / len(words):.0f}, max {max(words)}; " + ", ".join(f"{k} {bands[k]}" for k in ("<200", "200-399", "400-549", "550+")))
    checks.append(("120-700 words each", min(words) >= 120 and max(words) <= 700))
    decades = Counter(f"{r['date'][:3]}0s" if r["date"] else "undated" for r in rows)
    print("decades: " + ", ".join(f"{k} {v}" for k, v in sorted(decades.items())))
    regions = Counter(name for r in rows for name, rx in REGIONS.items() if rx.search(f"{r['title']} {r['text']}"))
    print("regions mentioned: " + ", ".join(f"{k} {v}" for k, v in regions.most_common()))
    briefs = [len(r["brief"].split()) for r in rows]
    print(f"brief words: mean {sum(briefs) / len(briefs):.0f}, max {max(briefs)}")
    checks.append(("briefs <= 45 words", max(briefs) <= 45))
    failed = [name for name, ok in checks if not ok]
    print("targets: " + ("all met" if not failed else "MISSED: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
