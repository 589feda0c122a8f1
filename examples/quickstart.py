"""defsum quickstart: tag and summarise two of the bundled example articles.

Run from anywhere:  python examples/quickstart.py
"""
from pathlib import Path

import defsum

# The example articles sit next to this script, whatever the working directory.
ARTICLES = Path(__file__).parent / "articles"
FILES = ["01-hungarian-trade-manager-seeks-asylum.txt", "05-gps-jamming-latvia-envoy-summoned.txt"]


def read_article(name: str) -> tuple[str, str]:
    """A plain-text example is: headline, blank line, body. Return (title, body)."""
    title, _, body = (ARTICLES / name).read_text(encoding="utf-8").partition("\n\n")
    return title.strip(), body.strip()


titles, texts = map(list, zip(*(read_article(name) for name in FILES)))

# 1. Event tags. One text in -> one Prediction (labels, scores, primary).
classifier = defsum.EventClassifier.from_pretrained()
pred = classifier.predict(texts[0])
print(titles[0])
print("  labels: ", pred.labels)     # e.g. ['elite_defection']
print("  primary:", pred.primary)    # one of the labels, or 'none'
print("  scores: ", pred.scores)     # probability per label

# A list in -> a list of Predictions; batch_size (windows per pass; int8 scores one) bounds memory use.
for title, p in zip(titles, classifier.predict(texts, batch_size=16)):
    print(f"  {p.primary:<16} {', '.join(p.labels) or '-':<30} {title}")

# 2. A short brief (who did what, where, when) as a plain string.
summarizer = defsum.Summarizer.from_pretrained()
print("\nBrief:", summarizer.summarize(texts[1]))

# 3. Both at once: the Analyzer returns one defsum.Brief per article.
analyzer = defsum.Analyzer.from_pretrained()
for brief in analyzer.analyze(texts, titles=titles):
    print(f"\n{brief.title}")
    print(f"  labels={brief.labels} primary={brief.primary} chunked={brief.chunked}")
    print(f"  scores={brief.scores}")
    print(f"  summary: {brief.summary}")
