"""The start-up check that the installed llama.cpp fits the CPU it runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_agent.adapters.local.cpu_features import (
    PORTABLE_FEATURES,
    UnsupportedCpu,
    check_fits_host,
    compiled_features,
    host_flags,
)

NATIVE_ON_SAPPHIRE_RAPIDS = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
PORTABLE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
AVX2_HOST = frozenset("fpu sse2 pni ssse3 avx avx2 f16c fma bmi2".split())


def test_only_compiled_instruction_sets_are_read() -> None:
    assert compiled_features(PORTABLE) == PORTABLE_FEATURES
    assert compiled_features("AVX = 0 | AVX2 = 1 | OPENMP = 1") == {"AVX2"}


def test_a_native_avx512_build_is_refused_on_an_avx2_host_naming_what_is_missing() -> None:
    with pytest.raises(UnsupportedCpu) as refused:
        check_fits_host(NATIVE_ON_SAPPHIRE_RAPIDS, AVX2_HOST)
    message = str(refused.value)
    assert "AMX_INT8" in message
    assert "AVX512" in message
    assert "make clean setup" in message


def test_the_portable_build_fits_an_avx2_host() -> None:
    check_fits_host(PORTABLE, AVX2_HOST)


def test_an_unknown_host_is_not_refused(tmp_path: Path) -> None:
    assert host_flags(tmp_path / "missing") is None
    check_fits_host(NATIVE_ON_SAPPHIRE_RAPIDS, None)


def test_host_flags_come_from_the_first_processor(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma\n\nflags\t\t: other\n")
    assert host_flags(cpuinfo) == frozenset({"fpu", "avx2", "fma"})
