"""The installed llama.cpp is the portable build the Makefile made: compiled for x86-64-v3
only (no AVX-512 or AMX, whatever the build host had), and installed from the wheel directory
keyed by its version, Python and CMake flags, never from pip's wheel cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from voice_agent.adapters.local.cpu_features import PORTABLE_FEATURES, compiled_features
from voice_agent.adapters.local.llama import system_info

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def make_variable(target: str, *overrides: str) -> str:
    out = subprocess.run(
        ["make", "-s", "-C", str(ROOT), target, *overrides],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_llama_cpp_is_compiled_for_portable_instructions_only() -> None:
    assert compiled_features(system_info()) <= PORTABLE_FEATURES


def test_llama_cpp_was_installed_from_the_wheel_built_with_the_makefiles_flags() -> None:
    origin = json.loads(distribution("llama_cpp_python").read_text("direct_url.json") or "{}")
    wheel = Path(unquote(urlparse(origin["url"]).path))
    wheel_dir = Path(make_variable("print-llama-wheel-dir"))
    if not wheel_dir.is_absolute():
        wheel_dir = ROOT / wheel_dir
    assert wheel.parent == wheel_dir
    flags = (wheel_dir / "cmake-args.txt").read_text().split()
    assert "-DGGML_NATIVE=OFF" in flags
    assert "-DGGML_AVX512=OFF" in flags


def test_other_flags_build_into_another_directory() -> None:
    ours = make_variable("print-llama-wheel-dir")
    assert make_variable("print-llama-wheel-dir", "LLAMA_CMAKE_ARGS=-DGGML_LTO=ON") != ours


def test_openmp_threads_wait_passively_unless_the_operator_says_otherwise() -> None:
    probe = "import os, voice_agent.adapters.local.llama; print(os.environ['OMP_WAIT_POLICY'])"

    def policy(**env: str) -> str:
        clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env={**clean, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    assert policy() == "PASSIVE"
    assert policy(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
