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


def _int8_error(model, float_model, x):
    import torch

    with torch.inference_mode():
        return (model(x) - float_model(x)).abs().mean().item()


def test_int8_uses_all_256_input_levels_where_the_cpu_has_no_overflow():
    import copy

    import torch

    from defsum.precision import FullRangeDynamicLinear, int8_full_range, prepare_for_inference

    if not (precision._x86_int8() and int8_full_range()):
        pytest.skip("this CPU's int8 kernels can overflow on 8-bit inputs (x86 without VNNI) or it has none")
    torch.manual_seed(0)
    float_model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.GELU(), torch.nn.Linear(32, 8))
    full = prepare_for_inference(copy.deepcopy(float_model), "int8")
    assert all(type(m) is FullRangeDynamicLinear for m in (full[0], full[2]))
    torch_layers = copy.deepcopy(full)
    for m in (torch_layers[0], torch_layers[2]):
        m.__class__ = torch.ao.nn.quantized.dynamic.Linear  # torch's own layer: 128 input levels
    x = torch.randn(256, 64)
    assert _int8_error(full, float_model, x) < 0.75 * _int8_error(torch_layers, float_model, x)


def test_int8_layer_takes_128_levels_where_8_bit_inputs_could_overflow(monkeypatch):
    import copy

    import torch

    from defsum.precision import FullRangeDynamicLinear, prepare_for_inference

    torch.manual_seed(0)
    model = prepare_for_inference(torch.nn.Sequential(torch.nn.Linear(8, 4)), "int8")
    assert type(model[0]) is FullRangeDynamicLinear
    torch_layer = copy.deepcopy(model)
    torch_layer[0].__class__ = torch.ao.nn.quantized.dynamic.Linear
    monkeypatch.setattr(precision, "int8_full_range", lambda: False)  # asked on every call, so a pickled model is safe elsewhere
    x = torch.randn(16, 8)
    assert torch.equal(model(x), torch_layer(x))


@pytest.mark.parametrize(("isa", "safe"), [("AVX2", False), ("AVX512", False), ("AVX512_E1", True)])
def test_the_probe_finds_kernels_that_overflow_on_8_bit_inputs(isa, safe):
    """fbgemm's AVX2 and AVX-512 kernels add pairs of int8 products in 16 bits; its VNNI
    (AVX512_E1) kernels do not. FBGEMM_ENABLE_INSTRUCTIONS makes it use the older ones here."""
    import os
    import subprocess
    import sys

    import torch

    if not precision._x86_int8() or torch.backends.quantized.engine not in ("x86", "fbgemm"):
        pytest.skip("torch's x86 int8 kernels (fbgemm) are not in use here")
    if safe and "avx512_vnni" not in precision._cpu_flags():
        pytest.skip("this CPU has no AVX-512 VNNI")
    code = "from defsum.precision import int8_full_range; print(int8_full_range())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "FBGEMM_ENABLE_INSTRUCTIONS": isa},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(safe)


def test_full_range_int8_model_survives_pickling():
    import pickle

    import torch

    from defsum.precision import prepare_for_inference

    torch.manual_seed(0)
    model = prepare_for_inference(torch.nn.Sequential(torch.nn.Linear(16, 4)), "int8")
    x = torch.randn(3, 16)
    again = pickle.loads(pickle.dumps(model))
    assert type(again[0]) is type(model[0])
    assert torch.equal(again(x), model(x))


def test_the_probe_runs_once_per_engine_when_threads_ask_together(monkeypatch):
    import threading
    import time

    calls = []

    def slow_probe(engine):
        calls.append(engine)
        time.sleep(0.05)
        return True

    monkeypatch.setattr(precision, "_FULL_RANGE", {})
    monkeypatch.setattr(precision, "_probe_full_range", slow_probe)
    threads = [threading.Thread(target=precision.int8_full_range) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
