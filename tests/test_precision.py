"""What "auto" precision means on each kind of device."""

from __future__ import annotations

import pytest

import defsum.precision as precision
from defsum.precision import resolve_precision


@pytest.mark.parametrize(
    ("flags", "int8_kernels", "classifier", "summariser"),
    [
        ({"avx512_bf16", "amx_bf16", "amx_tile"}, True, "bf16", "bf16"),  # Intel with AMX: bf16 was fastest
        ({"avx512_bf16", "avx512_vnni"}, True, "int8", "bf16"),  # AVX-512 BF16 without AMX (AMD EPYC)
        ({"avx2"}, True, "int8", "fp32"),  # no native bf16
        ({"avx512_bf16"}, False, "bf16", "bf16"),  # not x86, or a torch without x86 int8 kernels
        (set(), False, "fp32", "fp32"),
    ],
)
def test_auto_picks_by_cpu(monkeypatch, flags, int8_kernels, classifier, summariser):
    monkeypatch.setattr(precision, "_cpu_flags", lambda: flags)
    monkeypatch.setattr(precision, "_x86_int8", lambda: int8_kernels)
    assert resolve_precision("auto", "cpu", int8=True) == classifier
    assert resolve_precision("auto", "cpu") == summariser


def test_gpu_and_explicit_choices(monkeypatch):
    monkeypatch.setattr(precision, "_cpu_flags", lambda: set())
    assert resolve_precision("auto", "cuda", int8=True) == "bf16"
    assert resolve_precision("int8", "cpu") == "int8"
    assert resolve_precision("fp32", "cpu", int8=True) == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16")


def test_int8_needs_an_x86_machine(monkeypatch):
    monkeypatch.setattr(precision.platform, "machine", lambda: "aarch64")
    assert not precision._x86_int8()
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    assert precision._x86_int8()  # the CPU build of torch this project installs has the x86 kernels


def test_a_model_quantised_by_its_caller_runs_as_int8():
    import torch

    from defsum.precision import model_precision, prepare_for_inference

    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert model_precision(model, None) == "fp32"
    assert model_precision(prepare_for_inference(model, "int8"), None) == "int8"
