"""Inference arithmetic: fp32, bf16 (bf16 weights under autocast), or dynamic int8 weights (CPU).

>>> resolve_precision("fp32")
'fp32'
"""

from __future__ import annotations

import logging
import platform
import threading
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch

PRECISIONS = ("auto", "fp32", "bf16", "int8")

logger = logging.getLogger(__name__)


def resolve_precision(precision: str, device: str = "cpu", int8: bool = False) -> str:
    """Turn ``"auto"`` into the fastest arithmetic measured for this device.

    On a GPU, or a CPU with AMX (Intel's bf16 matrix units), that is ``"bf16"``. On other x86
    CPUs, for a caller that runs dynamic int8 (``int8=True``: the classifier), it is ``"int8"``:
    on an AMD EPYC with AVX-512 BF16 but no AMX the classifier ran 1.18x faster in int8 than in
    bf16, with about bf16's accuracy on the test sets, while on an Intel CPU with AMX int8 was the
    slower one (docs/speed.md; x86 CPUs of other kinds were not measured). Otherwise
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
    itself for "fp32"; for "bf16" with bf16 weights; for "int8" with dynamic int8 weights (CPU only)
    in :class:`FullRangeDynamicLinear` layers (256 input levels where the CPU allows).

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
        for module in model.modules() if isinstance(model, torch.nn.Module) else ():
            if type(module) is torch.ao.nn.quantized.dynamic.Linear and module._packed_params.dtype == torch.qint8:
                module.__class__ = FullRangeDynamicLinear  # 256 input levels where the CPU allows
        int8_full_range()  # probe now, at load, not first in the scoring threads
    return model


class FullRangeDynamicLinear(torch.ao.nn.quantized.dynamic.Linear):
    """A dynamic int8 linear layer that quantises its input to all 256 levels where
    :func:`int8_full_range` finds that safe, else to torch's 128.

    torch's own x86 layer always uses 128 (``reduce_range``), because x86 kernels without VNNI
    add pairs of int8 products in 16 bits, which 256 levels can overflow. The check runs on each
    call (cached), so a model pickled on one machine is safe on another. On the shipped
    classifier (AMD EPYC with AVX-512 VNNI, session 18) 256 levels gave 3 of the 108 corpus test
    articles other labels or another primary event than fp32, against 9 with 128, at the same
    speed within noise (1.01x in nine paired rounds).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=not int8_full_range())
        return y.to(x.dtype)


def int8_full_range() -> bool:
    """Do torch's dynamic int8 kernels (of the current quantized engine) take 8-bit inputs
    without overflow on this CPU?

    A probe multiplies a row of ones (quantised to 255) by weights of one (127) and wants the exact
    sum; kernels that add pairs of products in 16 bits (x86 without VNNI) saturate and give about
    half of it. The answer is cached per engine. It describes torch's kernels only (fbgemm has no
    AVX-VNNI kernels, so a CPU with AVX-VNNI but no AVX-512 gets False), and a traced model
    (``torch.jit.trace``) keeps the answer of the machine that traced it.

    >>> isinstance(int8_full_range(), bool)
    True
    """
    engine = str(torch.backends.quantized.engine)
    if engine not in _FULL_RANGE:
        with _PROBE_LOCK:  # scoring threads may ask together; warnings.catch_warnings is not thread-safe
            if engine not in _FULL_RANGE:
                _FULL_RANGE[engine] = _probe_full_range(engine)
    return _FULL_RANGE[engine]


_FULL_RANGE: dict[str, bool] = {}
_PROBE_LOCK = threading.Lock()


def _probe_full_range(engine: str) -> bool:
    width = 384  # MiniLM's narrowest layer input; the kernel is chosen by CPU features, not shape
    try:
        layer = torch.nn.Sequential(torch.nn.Linear(width, 4, bias=False, dtype=torch.float32))
        with torch.no_grad():
            layer[0].weight.fill_(1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantized = torch.ao.quantization.quantize_dynamic(
                layer, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig})
        x = torch.ones(1, width, dtype=torch.float32)
        x[0, 0] = 0.0  # the input's range starts at 0: zero point 0, ones quantise to 255
        with torch.inference_mode():
            y = torch.ops.quantized.linear_dynamic(x, quantized[0]._packed_params._packed_params, reduce_range=False)
        exact = width - 1
        return bool(torch.allclose(y, torch.full_like(y, float(exact)), rtol=0.01))
    except Exception as err:  # no int8 kernels here (quantize_dynamic gone, another engine): keep torch's layer
        logger.debug("int8 probe failed on engine %s, keeping 128 input levels: %s", engine, err)
        return False


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
