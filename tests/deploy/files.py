"""The deployment files under test, loaded once (paths relative to the repository root)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.prod.yml")
ENV_TEMPLATE = ROOT / ".env.template"
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
"""A `${VAR}`, `${VAR:-default}` or `${VAR:?message}` reference in a compose file."""


@cache
def compose(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def services(name: str) -> dict[str, dict[str, Any]]:
    found = compose(name)["services"]
    assert isinstance(found, dict)
    return found


def makefile_variable(name: str) -> str:
    found = re.search(rf"^{name} := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, f"the Makefile defines no {name}"
    return found.group(1).strip()


def template_variables() -> list[str]:
    """Names in .env.template, set (`NAME=`) or left at their default (`# NAME=`)."""
    names = []
    for line in ENV_TEMPLATE.read_text().splitlines():
        found = re.match(r"^#? ?([A-Z][A-Z0-9_]*)=", line)
        if found:
            names.append(found.group(1))
    return names
