"""Every environment variable the settings read, by name, for `.env.template` and its test.

A flat setting is read under its first alias (`DEEPGRAM_API_KEY`); a field of a nested group
under the group's name and the field's, joined by `__` (`ENGINE__SILENCE_TIMEOUT_S`,
`PRICES__GROQ__STT_PER_MINUTE`), which is how pydantic-settings reads them.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import AliasChoices, BaseModel, ValidationError

from voice_agent.entrypoints.bootstrap.settings import Settings


def environment_variables() -> list[str]:
    """The names, in the settings' own order."""
    return [env for env, _ in _walk(Settings, "")]


def describe_settings_error(error: ValidationError) -> str:
    """One line per invalid variable, named as the operator set it (`SIP__INBOUND_NUMBERS:
    ...`), without the value given: it may be a secret, and the operator knows it."""
    names = {path: env for env, path in _walk(Settings, "")}
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in problem["loc"])
        name = names.get(path) or path.replace(".", "__").upper()
        lines.append(f"{name}: {problem['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _walk(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str]]:
    """(environment variable, the field's path as pydantic reports it: `sip.inbound_numbers`)."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        path = f"{prefix.replace('__', '.').lower()}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, f"{prefix}{name}__")
            continue
        alias = field.validation_alias
        if not prefix and isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
            yield alias.choices[0].upper(), alias.choices[0]
        else:
            yield f"{prefix}{name}".upper(), path
