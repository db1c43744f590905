"""`SIP__...` settings: comma-separated lists read as the operator writes them, and numbers
that are not E.164 refused before anything reaches LiveKit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from voice_agent.entrypoints.bootstrap.settings import Settings


def test_numbers_and_addresses_are_comma_separated_and_trimmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIP__INBOUND_NUMBERS", " +74951234567, +74957654321 ,")
    monkeypatch.setenv("SIP__ALLOWED_ADDRESSES", "203.0.113.0/24,198.51.100.7")
    monkeypatch.setenv("SIP__AUTH_PASSWORD", "a-digest-password")

    sip = Settings().sip

    assert sip.numbers == ("+74951234567", "+74957654321")
    assert sip.addresses == ("203.0.113.0/24", "198.51.100.7")
    assert "a-digest-password" not in repr(sip)


@pytest.mark.parametrize("numbers", ["84951234567", "+7 495 123 45 67", "+74951234567,+12"])
def test_a_number_that_is_not_e164_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, numbers: str
) -> None:
    monkeypatch.setenv("SIP__INBOUND_NUMBERS", numbers)

    with pytest.raises(ValidationError, match=r"sip\.inbound_numbers[\s\S]*not E\.164"):
        Settings()
