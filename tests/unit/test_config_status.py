from pathlib import Path

import pytest
from pydantic import ValidationError

from voice_agent.entrypoints.bootstrap.container import session_config
from voice_agent.entrypoints.bootstrap.settings import DEFAULT_PERSONA, Settings
from voice_agent.entrypoints.bootstrap.stack import choose_stack
from voice_agent.entrypoints.web.app import config_status


def test_without_keys_the_local_stack_runs_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DEEPGRAM_API_KEY", "GROQ_API_KEY", "CARTESIA_API_KEY", "STACK"):
        monkeypatch.delenv(key, raising=False)
    settings = Settings(_env_file=None, groq_api_key="gsk_secret")
    status = config_status(settings, choose_stack(settings))
    assert status["stack"]["active"] == "local"
    assert "DEEPGRAM_API_KEY" in status["stack"]["reason"]
    persona = status["groups"]["persona"]["values"]
    assert persona["system_prompt_file"] == DEFAULT_PERSONA.name
    assert "Maple Street Dental" in persona["greeting"]
    assert "gsk_secret" not in repr(status)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"\xff\xfe bad", "cannot read the persona file"), (b"  \n", "is empty")],
)
def test_an_unusable_persona_file_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    persona = tmp_path / "persona.txt"
    persona.write_bytes(content)
    with pytest.raises(ValidationError, match=reason):
        Settings(_env_file=None, system_prompt_file=persona)


def test_config_status_hides_the_transfer_number_persona_path_and_url_passwords(
    tmp_path: Path,
) -> None:
    persona = tmp_path / "private" / "persona.txt"
    persona.parent.mkdir()
    persona.write_text("You are Sam.")
    settings = Settings(
        _env_file=None,
        stack="fake",
        system_prompt_file=persona,
        database_url="postgresql+asyncpg://db.internal/calls?user=agent&password=hunter2",
        engine={"transfer_destination": "tel:+15550199"},
    )
    status = repr(config_status(settings, choose_stack(settings)))
    for secret in ("hunter2", "5550199", str(tmp_path)):
        assert secret not in status
    assert "user=agent&password=***" in status
    assert "***99" in status
    assert "persona.txt" in status


def test_preemptive_generation_is_on_unless_the_setting_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENGINE__PREEMPTIVE_GENERATION", raising=False)
    assert session_config(Settings(_env_file=None)).preemptive_generation is True
    monkeypatch.setenv("ENGINE__PREEMPTIVE_GENERATION", "false")
    assert session_config(Settings(_env_file=None)).preemptive_generation is False
