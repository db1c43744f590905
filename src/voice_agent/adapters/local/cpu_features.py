"""Does the installed llama.cpp fit this CPU?

A llama.cpp tuned to its build host (its CMake default) on a host with AVX-512 or AMX dies
with an illegal instruction or a general protection fault at the first generation on any
other host (and on some VMs of the same CPU, whose hypervisor withholds AMX). `make setup`
builds a portable wheel (see the Makefile: AVX2, FMA, F16C and nothing newer), but a user may
install llama-cpp-python by other means. The library reports the instruction sets it was
compiled for; comparing them with the CPU's flags turns a crash in the middle of a call into
a clear refusal at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

PORTABLE_FEATURES = frozenset({"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"})
"""What the portable build (Makefile `LLAMA_CMAKE_ARGS`) compiles in: x86-64-v3."""

# llama.cpp's names for compiled instruction sets -> the flag /proc/cpuinfo lists for each.
CPUINFO_FLAG = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
    "AMX_BF16": "amx_bf16",
    "AMX_TILE": "amx_tile",
}

_FEATURE = re.compile(r"([A-Z0-9_]+)\s*=\s*1")


class UnsupportedCpu(RuntimeError):
    """llama.cpp was compiled for instructions this CPU does not have."""


def compiled_features(system_info: str) -> frozenset[str]:
    """The instruction sets in `llama_print_system_info()`'s text that are compiled in
    (`AVX2 = 1`), keeping only those that name CPU instructions."""
    return frozenset(name for name in _FEATURE.findall(system_info) if name in CPUINFO_FLAG)


def host_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The first CPU's flags, or None where /proc/cpuinfo has none (not Linux on x86)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return None


def missing_on_host(compiled: Iterable[str], flags: frozenset[str]) -> list[str]:
    return sorted(name for name in compiled if CPUINFO_FLAG[name] not in flags)


def check_fits_host(system_info: str, flags: frozenset[str] | None) -> None:
    """Raise `UnsupportedCpu` naming what is missing; unknown hosts pass (nothing to check)."""
    if flags is None:
        return
    missing = missing_on_host(compiled_features(system_info), flags)
    if missing:
        raise UnsupportedCpu(
            f"llama.cpp was compiled for {', '.join(missing)}, which this CPU lacks "
            "(a build tuned to another host?): reinstall it with the portable "
            "flags: `make clean setup`"
        )
