"""Every environment variable the settings read, by name, for `.env.template` and its test.

A flat setting is read under its first alias (`DEEPGRAM_API_KEY`); a field of a nested group
under the group's name and the field's, joined by `__` (`ENGINE__SILENCE_TIMEOUT_S`,
`PRICES__GROQ__STT_PER_MINUTE`), which is how pydantic-settings reads them.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import AliasChoices, BaseModel

from voice_agent.entrypoints.bootstrap.settings import Settings


def environment_variables() -> list[str]:
    """The names, in the settings' own order."""
    return list(_walk(Settings, ""))


def _walk(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, f"{prefix}{name}__")
            continue
        alias = field.validation_alias
        if not prefix and isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
            yield alias.choices[0].upper()
        else:
            yield f"{prefix}{name}".upper()
