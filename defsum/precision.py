"""Inference arithmetic: fp32, bf16 (bf16 weights under autocast), or dynamic int8 weights (CPU).

>>> resolve_precision("fp32")
'fp32'
"""

from __future__ import annotations

import platform
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch

PRECISIONS = ("auto", "fp32", "bf16", "int8")


def resolve_precision(precision: str, device: str = "cpu", int8: bool = False) -> str:
    """Turn ``"auto"`` into the fastest arithmetic measured for this device.

    On a GPU, or a CPU with AMX (Intel's bf16 matrix units), that is ``"bf16"``. On other x86
    CPUs, for a caller that runs dynamic int8 (``int8=True``: the classifier), it is ``"int8"``:
    on an AMD EPYC with AVX-512 BF16 but no AMX the classifier ran 1.18x faster in int8 than in
    bf16, with about bf16's accuracy on the test sets, while on an Intel CPU with AMX int8 was the
    slower one (README, "Speed"; x86 CPUs of other kinds were not measured). Otherwise
    ``"bf16"`` where the CPU has AVX-512 BF16, else ``"fp32"``. The CPU's features are read from
    /proc/cpuinfo: where there is none (not Linux), an x86 CPU counts as one without AMX.

    >>> resolve_precision("auto", "cuda")
    'bf16'
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if not str(device).startswith("cpu"):
        return "bf16"
    flags = _cpu_flags()
    if "amx_bf16" in flags:
        return "bf16"
    if int8 and _x86_int8():
        return "int8"
    return "bf16" if "avx512_bf16" in flags else "fp32"


def _cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        return set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return set()


def _x86_int8() -> bool:
    """Is this an x86 machine whose torch runs dynamic int8 linear layers with its x86 kernels?"""
    if platform.machine().lower() not in ("x86_64", "amd64", "x64"):
        return False
    engines = getattr(torch.backends.quantized, "supported_engines", [])
    return hasattr(torch.ao.quantization, "quantize_dynamic") and ("x86" in engines or "fbgemm" in engines)


def check_int8_device(device: str) -> None:
    """Refuse int8 on a device other than the CPU (torch's dynamic int8 kernels are CPU kernels)."""
    if not str(device).startswith("cpu"):
        raise ValueError(f"precision 'int8' runs on the CPU only, got device {str(device)!r}; use 'bf16' or 'fp32' there")


def prepare_for_inference(model: Any, precision: str, device: str = "cpu") -> Any:
    """Return ``model`` ready for ``precision``, converted in place (no second copy of the weights
    is kept, so the float weights are gone: the loaders reload them from their folder to save):
    itself for "fp32"; for "bf16" with bf16 weights; for "int8" with dynamic int8 weights (CPU only).

    bf16 weights rather than autocast alone: autocast casts every fp32 weight to bf16 on every call.

    >>> prepare_for_inference(torch.nn.Linear(2, 2), "bf16").weight.dtype
    torch.bfloat16
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16":
        return model.to(torch.bfloat16)
    if precision == "int8":
        check_int8_device(device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # per-channel weight scales: per-tensor int8 cost 14 points of real-text macro-F1 on the
            # shipped classifier, per-channel under 1 (eval/evaluate_classifier.py --precision int8)
            qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear: qconfig}, inplace=True)
    return model


def model_precision(model: Any, precision: str | None) -> str:
    """The precision to run ``model`` at: ``precision``, or when it is None, what the weights are
    ("bf16" for bf16 weights, as in the ``.model`` of an instance loaded with precision="bf16";
    "int8" for dynamic int8 linear layers; else "fp32"). Refuses bf16 weights under any other
    precision, which would run in bf16 while saying otherwise.

    >>> model_precision(torch.nn.Linear(2, 2).to(torch.bfloat16), None)
    'bf16'
    """
    params = getattr(model, "parameters", None)
    bf16 = callable(params) and any(p.dtype == torch.bfloat16 for p in params())
    if precision is None:
        modules = getattr(model, "modules", None)
        if callable(modules) and any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in modules()):
            return "int8"  # quantised by the caller (torch.ao.quantization.quantize_dynamic)
        return "bf16" if bf16 else "fp32"
    if bf16 and precision != "bf16":
        raise ValueError(
            f"precision={precision!r}, but the model's weights are bfloat16 (as the .model of an instance "
            "loaded with precision='bf16' is); pass precision='bf16' (or leave it out), or load the model again "
            f"with from_pretrained(..., precision={precision!r})"
        )
    return precision


def autocast(precision: str, device: str = "cpu") -> AbstractContextManager:
    """The autocast context for ``precision`` (a no-op unless it is "bf16")."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")
