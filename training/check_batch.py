"""Check one corpus batch file as the writers did: python training/check_batch.py BATCH.jsonl"""
import json, sys, collections
LABELS = {"elite_defection", "provocation", "diplomacy"}
path = sys.argv[1]
combos = collections.Counter(); words = []; bad = 0; ids = set()
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    r = json.loads(line)
    for k in ("id", "title", "text", "date", "labels", "primary", "brief", "source_style", "story"):
        if k not in r: print(f"line {n}: missing {k}"); bad += 1
    if r["id"] in ids: print(f"line {n}: duplicate id {r['id']}"); bad += 1
    ids.add(r["id"])
    if not set(r["labels"]) <= LABELS: print(f"line {n}: bad labels {r['labels']}"); bad += 1
    if r["labels"] and r["primary"] not in r["labels"]: print(f"line {n}: primary not in labels"); bad += 1
    if not r["labels"] and r["primary"] != "none": print(f"line {n}: primary must be none"); bad += 1
    w = len(r["text"].split()); words.append(w)
    if not 120 <= w <= 700: print(f"line {n}: text has {w} words (120-700)"); bad += 1
    bw = len(r["brief"].split())
    if bw > 45: print(f"line {n}: brief has {bw} words (max 45)"); bad += 1
    if r["date"] is not None and not (len(r["date"]) == 10 and r["date"][4] == "-"): print(f"line {n}: bad date"); bad += 1
    combos["+".join(sorted(r["labels"])) or "none"] += 1
print(f"{len(ids)} records, {bad} problems")
for c, k in sorted(combos.items()): print(f"  {c}: {k}")
print(f"  words: min {min(words)} max {max(words)} mean {sum(words)/len(words):.0f}; >=550: {sum(w>=550 for w in words)}")
