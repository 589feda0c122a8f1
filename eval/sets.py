"""The evaluation sets of the shipped summariser report, as pair specs (``defsum.data`` syntax).

Shared by ``eval/reproduce.py`` (which writes ``eval/reports/summarizer.md`` from them) and
``eval/brief_regression.py`` (which checks that a code change moves none of their briefs).
"""

from __future__ import annotations

SHARED = "../shared/data"

CORPUS_TEST = "data/corpus/test.jsonl,name=corpus-test,text=text,reference=brief,title=title"
"""The corpus test split (108 team-written articles)."""

HELD_OUT = [
    f"{SHARED}/summaries/inshorts.jsonl,name=inshorts-heldout,title=headline,heldout=1,limit=60",
    f"{SHARED}/summaries/frank_cnndm_xsum.jsonl,name=cnndm-heldout,filter=source=cnndm,heldout=1,limit=60",
    f"{SHARED}/summaries/bbc_news_summary.jsonl,name=bbc-heldout,title=@firstline,heldout=1,limit=60",
    f"{SHARED}/summaries/xsum.jsonl,name=xsum-heldout,heldout=1,limit=60",
]
"""Samples of the real summary sets' held-out pairs (no training script reads them)."""
