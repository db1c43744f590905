"""`.env.template` names every setting the agent reads and every variable the compose files
use: an operator who fills it in has configured everything there is."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.deploy.files import COMPOSE_FILES, REFERENCE, ROOT, template_variables
from voice_agent.entrypoints.bootstrap.env_catalog import environment_variables

COMPOSE_ONLY = {
    "VOICE_AGENT_TAG",
    "LOCAL_MODELS",
    "LIVEKIT_NODE_IP",
    "API_PORT",
    "POSTGRES_PASSWORD",
    "GRAFANA_ADMIN_USER",
    "GRAFANA_ADMIN_PASSWORD",
}
"""Variables only the compose files read (the agent does not)."""


def test_every_setting_is_in_the_template_and_nothing_else() -> None:
    listed = set(template_variables())
    settings = set(environment_variables())
    assert settings - listed == set(), "settings missing from .env.template"
    assert listed - settings - COMPOSE_ONLY == set(), ".env.template names unknown variables"


def test_no_variable_is_listed_twice() -> None:
    twice = [name for name, n in Counter(template_variables()).items() if n > 1]
    assert twice == []


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_variable_a_compose_file_uses_is_in_the_template(name: str) -> None:
    used = set(REFERENCE.findall((ROOT / name).read_text()))
    assert used - set(template_variables()) == set()


def test_the_catalog_reads_nested_groups_as_pydantic_settings_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voice_agent.entrypoints.bootstrap.settings import Settings

    names = environment_variables()
    assert {"ENGINE__SILENCE_TIMEOUT_S", "PRICES__GROQ__STT_PER_MINUTE", "DEEPGRAM_API_KEY"} <= set(
        names
    )
    monkeypatch.setenv("ENGINE__SILENCE_TIMEOUT_S", "9.5")
    monkeypatch.setenv("PRICES__GROQ__STT_PER_MINUTE", "0.25")
    settings = Settings(_env_file=None)
    assert settings.engine.silence_timeout_s == 9.5
    assert settings.prices.groq.stt_per_minute == 0.25


def test_the_template_holds_no_secret_value() -> None:
    for line in (ROOT / ".env.template").read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if any(word in name for word in ("KEY", "SECRET", "PASSWORD", "TOKEN")):
            assert value == "", f"{name} has a value in the template"


def test_invalid_settings_are_named_as_set_and_their_values_never_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voice_agent.entrypoints.cli.main import main

    monkeypatch.setenv("SIP__INBOUND_NUMBERS", "+1555-secret-sauce")
    monkeypatch.setenv("WORKER_MAX_CALLS", "zero-secret")
    monkeypatch.setenv("PRICES__GROQ__STT_PER_MINUTE", "cheap-secret")
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("voice-agent: invalid settings:")
    for name in ("SIP__INBOUND_NUMBERS:", "WORKER_MAX_CALLS:", "PRICES__GROQ__STT_PER_MINUTE:"):
        assert name in err
    assert "secret" not in err
    assert "Traceback" not in err
