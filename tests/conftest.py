"""Shared fixtures: tiny randomly initialised models built offline from small configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from defsum.classifier import DEFAULTS, EventClassifier
from defsum.labels import LABELS
from defsum.modelio import base_model_path


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network: hub ids are treated as in offline mode (HF_HUB_OFFLINE=1), so
    defsum's hub probe is skipped; the tests of that probe unset it and stub the hub client."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(base_model_path())


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """A 2-layer, 32-wide BERT classifier with defsum's labels, saved as a model folder."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)},
        problem_type="multi_label_classification",
    )
    model = BertForSequenceClassification(config).eval()
    folder = tmp_path_factory.mktemp("tiny_classifier")
    clf = EventClassifier(model, tokenizer, dict(DEFAULTS, max_length=64, overlap=16, title_tokens=8))
    clf.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_classifier(tiny_classifier_dir: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(tiny_classifier_dir)


@pytest.fixture(scope="session")
def make_tiny_copygen(tokenizer):
    """Build a fresh 1-layer, 32-wide copy-generator (seeded, eval mode) for the base vocabulary."""
    from defsum.copygen import CopyGenConfig, CopyGenForConditionalGeneration

    def make():
        torch.manual_seed(0)
        config = CopyGenConfig(
            vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_decoder_layers=1,
            num_attention_heads=2, intermediate_size=64, max_position_embeddings=512, max_target_positions=40,
        )
        return CopyGenForConditionalGeneration(config).eval()

    return make


@pytest.fixture(scope="session")
def tiny_summarizer_path(tmp_path_factory: pytest.TempPathFactory, tokenizer, make_tiny_copygen) -> Path:
    """The tiny copy-generator saved as a summariser folder."""
    from defsum.summarizer import DEFAULTS as SUMMARY_DEFAULTS
    from defsum.summarizer import Summarizer

    folder = tmp_path_factory.mktemp("tiny_summarizer_shared")
    Summarizer(make_tiny_copygen(), tokenizer, dict(SUMMARY_DEFAULTS, max_source_tokens=128, max_target_tokens=32, uncased=True)).save_pretrained(folder)
    return folder
