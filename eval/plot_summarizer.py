"""Plots for the summariser report, drawn from the metrics JSON that evaluate_summarizer.py writes.

Usage: python eval/plot_summarizer.py [--metrics eval/reports/summarizer.json] [--out eval/reports]
Writes summarizer_rouge.png (ROUGE-1/2/L per set: model, Lead-1, Lead-2) and
summarizer_lengths.png (words per brief vs per reference, over each set's printed samples).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--metrics", default="eval/reports/summarizer.json")
    p.add_argument("--out", default="eval/reports")
    args = p.parse_args(argv)
    sets = json.loads(Path(args.metrics).read_text())["sets"]
    names = list(sets)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    for ax, key in zip(axes, ("rouge1", "rouge2", "rougeL")):
        width = 0.26
        x = np.arange(len(names))
        for k, (system, label) in enumerate((("model", "defsum"), ("lead1", "Lead-1"), ("lead2", "Lead-2"))):
            values = [_metric(sets[n][system], key) for n in names]
            ax.bar(x + (k - 1) * width, values, width, label=label)
        ax.set_xticks(x, [n.replace("-heldout", "\n(held out)") for n in names], fontsize=8)
        ax.set_title(key.replace("rouge", "ROUGE-"))
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("F1 x 100")
    axes[0].legend()
    fig.suptitle("Summariser ROUGE per source set (rouge-score, stemmed)")
    fig.tight_layout()
    fig.savefig(Path(args.out) / "summarizer_rouge.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), sharey=True)
    for ax, n in zip(np.atleast_1d(axes), names):
        samples = sets[n].get("samples", [])
        briefs = [len(str(s.get("brief", "")).split()) for s in samples]
        refs = [len(str(s.get("reference", "")).split()) for s in samples]
        bins = np.arange(0, max(briefs + refs + [50]) + 10, 5)
        ax.hist(refs, bins=bins, alpha=0.6, label="reference")
        ax.hist(briefs, bins=bins, alpha=0.6, label="defsum brief")
        ax.axvline(45, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"{n} ({len(samples)} samples)", fontsize=9)
        ax.set_xlabel("words")
    np.atleast_1d(axes)[0].set_ylabel("briefs")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("Brief length vs reference length (dashed: the 45-word limit)")
    fig.tight_layout()
    fig.savefig(Path(args.out) / "summarizer_lengths.png", dpi=110)
    plt.close(fig)
    report = Path(args.metrics).with_suffix(".md")
    if report.exists() and "## Plots" not in report.read_text():
        with open(report, "a", encoding="utf-8") as fh:
            fh.write("\n## Plots\n\n`python eval/plot_summarizer.py` (from `eval/reports/summarizer.json`):\n\n"
                     "![ROUGE per set](summarizer_rouge.png)\n![Brief lengths](summarizer_lengths.png)\n")
    print(f"wrote {Path(args.out) / 'summarizer_rouge.png'} and {Path(args.out) / 'summarizer_lengths.png'}")


def _metric(entry: dict, key: str) -> float:
    value = entry.get(key, entry.get(key.replace("rouge", "rouge-"), 0.0))
    return float(value["f"] if isinstance(value, dict) else value)


if __name__ == "__main__":
    main()
