"""Test modules that load a local model or start the agent as a process carry the `slow`
marker, so `pytest -m "not slow"` stays a quick run (`make test` runs them all)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SLOW_IMPORTS = (
    "tests.agent_server",
    "tests.contract.local_models",
    "voice_agent.adapters.local.llama",
    "voice_agent.adapters.local.piper",
    "voice_agent.adapters.local.silero",
    "voice_agent.adapters.local.smart_turn",
    "voice_agent.adapters.local.whisper",
)


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _marked_slow(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            return "mark.slow" in ast.unparse(node.value)
    return False


def test_modules_that_load_models_or_start_the_agent_are_marked_slow() -> None:
    unmarked = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        if _imports(tree) & set(SLOW_IMPORTS) and not _marked_slow(tree):
            unmarked.append(str(path.relative_to(TESTS)))
    assert unmarked == []
