"""Wrong arguments to the Python API fail at once, with errors that say what was wrong and how to fix it."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

import defsum.classifier
import defsum.summarizer
from defsum.classifier import EventClassifier
from defsum.modelio import ModelLoadError, looks_like_local_path, resolve_model_path
from defsum.pipeline import Analyzer
from defsum.summarizer import Summarizer

TEXT = "North Korea fired two ballistic missiles into the sea on Monday, the South Korean military said."
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clf(tiny_classifier_dir: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(tiny_classifier_dir, precision="fp32")


@pytest.fixture(scope="module")
def summ(tiny_summarizer_path: Path) -> Summarizer:
    return Summarizer.from_pretrained(tiny_summarizer_path, precision="fp32")


@pytest.fixture(scope="module")
def analyzer(clf: EventClassifier, summ: Summarizer) -> Analyzer:
    return Analyzer(clf, summ, extractive=True)


def _calls(clf: EventClassifier, summ: Summarizer, analyzer: Analyzer) -> dict:
    return {"predict": clf.predict, "predict_proba": clf.predict_proba, "summarize": summ.summarize, "analyze": analyzer.analyze}


# 1. the Analyzer docstring uses the real keyword
def test_analyzer_docstring_uses_titles_keyword():
    doc = inspect.getdoc(Analyzer) or ""
    assert "titles=" in doc and "title=" not in doc.replace("titles=", "")
    assert "titles" in inspect.signature(Analyzer.analyze).parameters


# 2. the class example says what the shipped model answers
def test_classifier_docstring_example_matches_the_shipped_model():
    import re

    doc = inspect.getdoc(EventClassifier) or ""
    call = re.search(r'clf\.predict\("([^"]+)"\)\.primary.*\n(\S+)', doc)
    assert call, "the EventClassifier docstring should show clf.predict(...).primary and its answer"
    text, expected = call.group(1), call.group(2).strip("'")
    assert EventClassifier.from_pretrained().predict(text).primary == expected


# 3. save_pretrained writes a model card only when the classifier gets card=; the README says so
def test_save_pretrained_model_card_matches_readme(clf: EventClassifier, summ: Summarizer, tmp_path: Path):
    clf.save_pretrained(tmp_path / "plain")
    assert not (tmp_path / "plain" / "README.md").exists()
    clf.save_pretrained(tmp_path / "carded", card="# Card\n")
    assert (tmp_path / "carded" / "README.md").read_text() == "# Card\n"
    summ.save_pretrained(tmp_path / "summ")
    assert not (tmp_path / "summ" / "README.md").exists()
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "library versions) and a model card" not in readme
    assert "card=text" in readme


# 4. None or a number instead of text
@pytest.mark.parametrize("call", ["predict", "predict_proba", "summarize", "analyze"])
@pytest.mark.parametrize("bad", [None, 123])
def test_text_of_wrong_type(clf, summ, analyzer, call, bad):
    with pytest.raises(TypeError, match=f"text must be a str or a list of str, got {type(bad).__name__}"):
        _calls(clf, summ, analyzer)[call](bad)


# 5. bytes are not iterated as ints
@pytest.mark.parametrize("call", ["predict", "predict_proba", "summarize", "analyze"])
def test_bytes_say_decode(clf, summ, analyzer, call):
    fn = _calls(clf, summ, analyzer)[call]
    with pytest.raises(TypeError, match=r"got bytes; decode it first \(e\.g\. text\.decode\('utf-8'\)\)"):
        fn(TEXT.encode())
    with pytest.raises(TypeError, match=r"text\[1\] is bytes, expected str; decode it first"):
        fn([TEXT, TEXT.encode()])


# 6. a wrong item type is a TypeError everywhere
@pytest.mark.parametrize("call", ["predict", "predict_proba", "summarize", "analyze"])
def test_wrong_item_type_is_type_error(clf, summ, analyzer, call):
    with pytest.raises(TypeError, match=r"text\[1\] is int, expected str"):
        _calls(clf, summ, analyzer)[call]([TEXT, 3])


# 7. one str to predict_proba is one article
def test_predict_proba_of_a_str_is_one_article(clf: EventClassifier):
    one = clf.predict_proba("North")
    assert one.shape == (1, len(clf.labels))
    np.testing.assert_allclose(one, clf.predict_proba(["North"]))
    assert clf.predict_proba(TEXT, titles="Missiles").shape == (1, len(clf.labels))


# 8. no articles, no rows
def test_predict_proba_of_nothing(clf: EventClassifier):
    empty = clf.predict_proba([])
    assert empty.shape == (0, len(clf.labels))
    assert empty.dtype == clf.predict_proba([TEXT]).dtype
    assert clf.predict([]) == []


# 9. titles are checked in one place, naming the index
@pytest.mark.parametrize("call", ["predict", "predict_proba", "summarize", "analyze"])
def test_bad_titles(clf, summ, analyzer, call):
    fn = _calls(clf, summ, analyzer)[call]
    with pytest.raises(TypeError, match=r"titles\[0\] is int, expected str or None"):
        fn([TEXT], titles=[5])
    with pytest.raises(TypeError, match=r"titles\[1\] is bytes, expected str or None; decode it first"):
        fn([TEXT, TEXT], titles=["ok", b"x"])
    with pytest.raises(TypeError, match="titles must be a str, a list of str or None, got int"):
        fn(TEXT, titles=5)
    with pytest.raises(TypeError, match="titles must be a list"):
        fn([TEXT, TEXT], titles="one title")
    with pytest.raises(ValueError, match="got 2 titles for 1 texts"):
        fn([TEXT], titles=["a", "b"])


def test_single_call_titles(summ: Summarizer):
    with pytest.raises(TypeError, match="title must be a str or None, got int"):
        summ.extract(TEXT, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="title must be a str or None, got list"):
        summ.candidates(TEXT, ["x"], num_beams=1)  # type: ignore[arg-type]


# 10. window_batch and batch_size are checked before anything runs
@pytest.mark.parametrize("value", [0, -1])
def test_analyze_window_batch_below_one(analyzer: Analyzer, value: int):
    with pytest.raises(ValueError, match=f"window_batch must be at least 1, got {value}"):
        analyzer.analyze(TEXT, window_batch=value)


def test_analyze_batch_size_checked_before_the_classifier(analyzer: Analyzer, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the classifier ran before batch_size was checked")

    monkeypatch.setattr(analyzer.classifier, "predict", boom)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0") as err:
        analyzer.analyze(TEXT, batch_size=0)
    assert "num_beams" not in str(err.value)


def test_analyze_window_batch_none_is_the_default(analyzer: Analyzer, monkeypatch):
    seen = {}
    original = analyzer.classifier.predict

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(analyzer.classifier, "predict", spy)
    analyzer.analyze(TEXT, window_batch=None)
    assert seen["batch_size"] == defsum.classifier.WINDOW_BATCH


# minor: counts given as None, '4' or 2.5
@pytest.mark.parametrize("value", [None, "4", 2.5, True])
def test_counts_of_wrong_type(clf, summ, analyzer, value):
    for fn, name in [
        (lambda: clf.predict(TEXT, batch_size=value), "batch_size"),
        (lambda: clf.predict_proba([TEXT], batch_size=value), "batch_size"),
        (lambda: summ.summarize(TEXT, batch_size=value), "batch_size"),
        (lambda: summ.summarize(TEXT, num_beams=value), "num_beams"),
        (lambda: summ.summarize(TEXT, max_words=value), "max_words"),
        (lambda: summ.summarize(TEXT, max_words=value, extractive=True), "max_words"),
        (lambda: analyzer.analyze(TEXT, batch_size=value), "batch_size"),
        (lambda: analyzer.analyze(TEXT, window_batch=value if value is not None else "x"), "window_batch"),
    ]:
        with pytest.raises(TypeError, match=f"{name} must be a whole number"):
            fn()


def test_counts_too_small(summ: Summarizer, clf: EventClassifier):
    with pytest.raises(ValueError, match="num_beams must be at least 1, got 0"):
        summ.summarize(TEXT, num_beams=0)
    with pytest.raises(ValueError, match="max_words=4 is too small"):
        summ.summarize(TEXT, max_words=4)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        clf.predict(TEXT, batch_size=0)
    assert isinstance(summ.summarize(TEXT, max_words=np.int64(20), extractive=True), str)  # numpy ints are whole numbers


def test_predict_proba_unknown_aggregation(clf: EventClassifier):
    with pytest.raises(ValueError, match="aggregation must be one of"):
        clf.predict_proba([TEXT], aggregation="median")


# minor: extract and candidates check their text like summarize does
@pytest.mark.parametrize("method", ["extract", "candidates"])
def test_extract_and_candidates_check_text(summ: Summarizer, method: str):
    fn = getattr(summ, method)
    with pytest.raises(TypeError, match="text must be a str, got NoneType"):
        fn(None)
    with pytest.raises(TypeError, match="got bytes; decode it first"):
        fn(TEXT.encode())
    for blank in ("", "  \n"):
        with pytest.raises(ValueError, match="empty or only whitespace"):
            fn(blank)
    with pytest.raises(ValueError, match="max_words=0 is too small"):
        fn(TEXT, max_words=0)


# 11. model paths: local-looking paths fail at once; hub failures say what was tried
@pytest.mark.parametrize("name", ["./models/clf", "../clf", "/no/such/model", "~/no-such-defsum-model", "models/clf/", "a/b/c"])
def test_local_looking_path_fails_at_once(name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for kind in ("classifier", "summarizer"):
        with pytest.raises(ModelLoadError, match="does not exist") as err:
            resolve_model_path(name, kind)
        assert name in str(err.value) and str(tmp_path) in str(err.value)


def test_relative_path_under_an_existing_folder_fails_at_once(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert resolve_model_path("models/my-classifier", "classifier") == "models/my-classifier"  # could be a hub id
    (tmp_path / "models").mkdir()
    for cls in (EventClassifier, Summarizer):
        with pytest.raises(ModelLoadError, match=f"'models/my-classifier' does not exist.*working directory {tmp_path}"):
            cls.from_pretrained("models/my-classifier")
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_model_path(Path("my-classifier"), "classifier")  # a Path is always local


def test_hub_ids_stay_hub_ids(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("bert-base-uncased", "google/pegasus-xsum", "org/name", "t5-small"):
        assert not looks_like_local_path(name)
        assert resolve_model_path(name, "summarizer") == name
    assert looks_like_local_path("models\\clf") and looks_like_local_path(".hidden")


def test_path_of_wrong_type():
    with pytest.raises(TypeError, match="path must be a str, a Path or None.*got int"):
        EventClassifier.from_pretrained(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got bytes; decode it first"):
        Summarizer.from_pretrained(b"models/summarizer")  # type: ignore[arg-type]


class TransportError(Exception):
    """Named like httpx's base class of requests that got no answer."""


class ConnectError(TransportError):
    pass


class HfHubHTTPError(Exception):
    """Named like the hub client's error for a hub that answered (no such repository, gated)."""


def stub_hub(monkeypatch, *, error=None, cached=None):
    """Stub the hub client: model_info raises ``error`` (or answers); the cache holds ``cached``."""
    import huggingface_hub

    calls = []

    def model_info(name, timeout=None):
        calls.append((name, timeout))
        if error is not None:
            raise error

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "model_info", model_info)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda name, filename: cached)
    return calls


@pytest.mark.parametrize("cls, module, attr, word", [
    (EventClassifier, defsum.classifier, "AutoModelForSequenceClassification", "classifier"),
    (Summarizer, defsum.summarizer, "AutoModelForSeq2SeqLM", "summariser"),
])
def test_unreachable_hub_fails_before_the_loader_retries(cls, module, attr, word, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    calls = stub_hub(monkeypatch, error=ConnectError("[Errno -2] Name or service not known"))

    def never(*args, **kwargs):
        raise AssertionError("from_pretrained must not run when the hub cannot be reached")

    monkeypatch.setattr(getattr(module, attr), "from_pretrained", never)
    with pytest.raises(ModelLoadError) as err:
        cls.from_pretrained("org/some-model")
    msg = str(err.value)
    assert f"hub id 'org/some-model' could not be loaded as a {word}" in msg
    assert "HF_HUB_OFFLINE=1" in msg and "ConnectError: [Errno -2] Name or service not known" in msg
    assert calls == [("org/some-model", defsum.modelio.HUB_PROBE_TIMEOUT)]  # one request


def test_hub_probe_leaves_answers_cache_and_offline_mode_alone(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    calls = stub_hub(monkeypatch, error=HfHubHTTPError("404 Repository Not Found"))
    assert resolve_model_path("org/missing", "classifier") == "org/missing"  # the loader reports the hub's answer
    assert calls == [("org/missing", defsum.modelio.HUB_PROBE_TIMEOUT)]
    calls = stub_hub(monkeypatch, error=ConnectError("down"), cached="/cache/org/name/config.json")
    assert resolve_model_path("org/name", "summarizer") == "org/name" and calls == []  # loads from the cache
    calls = stub_hub(monkeypatch, error=ConnectError("down"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_path("org/name", "classifier") == "org/name" and calls == []


@pytest.mark.parametrize("cls, module, attr", [
    (EventClassifier, defsum.classifier, "AutoModelForSequenceClassification"),
    (Summarizer, defsum.summarizer, "AutoModelForSeq2SeqLM"),
])
def test_failed_hub_lookup_names_folder_and_hub(cls, module, attr, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    calls = []

    class Offline:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            calls.append(args[0])
            raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(module, attr, Offline)
    monkeypatch.setattr(module, "AutoTokenizer", Offline)
    with pytest.raises(ModelLoadError) as err:
        cls.from_pretrained("models/my-model")
    msg = str(err.value)
    assert f"no local folder 'models/my-model' in {tmp_path}" in msg
    assert "hub id 'models/my-model' could not be loaded" in msg and "offline?" in msg
    assert calls == ["models/my-model"]  # one network attempt, not one per file kind


# 12. devices are checked before loading
@pytest.mark.parametrize("cls", [EventClassifier, Summarizer])
def test_device_checked_early(cls, tiny_classifier_dir, tiny_summarizer_path, monkeypatch):
    folder = tiny_classifier_dir if cls is EventClassifier else tiny_summarizer_path
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=r"no CUDA GPU.*use device=\"cpu\""):
            cls.from_pretrained(folder, device=device)
    with pytest.raises(ValueError, match="'gpu' is not a torch device; use \"cpu\", \"cuda\""):
        cls.from_pretrained(folder, device="gpu")
    with pytest.raises(TypeError, match="device must be a str.*got NoneType"):
        cls.from_pretrained(folder, device=None)  # type: ignore[arg-type]
    assert cls.from_pretrained(folder, device=torch.device("cpu"), precision="fp32") is not None


def test_analyzer_device_checked_early(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def boom(*args, **kwargs):
        raise AssertionError("a model loaded before the device was checked")

    monkeypatch.setattr(EventClassifier, "from_pretrained", boom)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        Analyzer.from_pretrained(device="cuda")


# 13. the summariser lists only the precisions it takes
def test_summarizer_precision_choices(tiny_summarizer_path):
    with pytest.raises(ValueError, match=r"one of \('auto', 'fp32', 'bf16'\), got 'fp16'") as err:
        Summarizer.from_pretrained(tiny_summarizer_path, precision="fp16")
    assert "int8" not in str(err.value)
    with pytest.raises(ValueError, match="int8 is for the classifier only"):
        Summarizer.from_pretrained(tiny_summarizer_path, precision="int8")
    with pytest.raises(ValueError, match=r"one of \('auto', 'fp32', 'bf16', 'int8'\), got 'fp16'"):
        EventClassifier.from_pretrained(precision="fp16")  # checked before any model loads


# 14. a bf16 model handed on: its precision follows the weights; another precision is refused, not run in bf16 unannounced
def test_bf16_weights_under_another_precision_are_refused(tiny_summarizer_path, tiny_classifier_dir):
    summ = Summarizer.from_pretrained(tiny_summarizer_path, precision="bf16")
    with pytest.raises(ValueError, match=r"precision='fp32', but the model's weights are bfloat16"):
        Summarizer(summ.model, summ.tokenizer, summ.config, precision="fp32", ranker=summ.ranker)
    assert Summarizer(summ.model, summ.tokenizer, summ.config, ranker=summ.ranker).precision == "bf16"  # as the weights are
    fp32 = Summarizer.from_pretrained(tiny_summarizer_path, precision="fp32")
    assert Summarizer(fp32.model, summ.tokenizer, summ.config, ranker=summ.ranker).precision == "fp32"
    clf = EventClassifier.from_pretrained(tiny_classifier_dir, precision="bf16")
    with pytest.raises(ValueError, match="load the model again"):
        EventClassifier(clf.model, clf.tokenizer, clf.config, precision="fp32")
    assert EventClassifier(clf.model, clf.tokenizer, clf.config).precision == "bf16"
