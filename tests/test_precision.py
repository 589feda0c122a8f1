"""What "auto" precision means on each kind of device."""

from __future__ import annotations

import pytest

import defsum.precision as precision
from defsum.precision import resolve_precision


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx512_bf16", "amx_bf16", "amx_tile"}, "bf16"),  # Intel with AMX
        ({"avx512_bf16", "avx512_vnni"}, "bf16"),  # AVX-512 BF16 without AMX (AMD EPYC)
        ({"avx2", "avx512_vnni"}, "fp32"),  # no native bf16
        (set(), "fp32"),  # no /proc/cpuinfo
    ],
)
def test_auto_picks_bf16_where_the_cpu_has_it(monkeypatch, flags, expected):
    monkeypatch.setattr(precision, "_cpu_flags", lambda: flags)
    assert resolve_precision("auto", "cpu") == expected


def test_gpu_and_explicit_choices(monkeypatch):
    monkeypatch.setattr(precision, "_cpu_flags", lambda: set())
    assert resolve_precision("auto", "cuda") == "bf16"
    assert resolve_precision("int8", "cpu") == "int8"
    assert resolve_precision("fp32", "cpu") == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16")
