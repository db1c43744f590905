import pytest

from voice_agent.adapters.resilience import BackoffRetry
from voice_agent.application.ports.errors import ProviderAuthError, ProviderUnavailable

BUSY = ProviderUnavailable("groq", "429")


def test_waits_grow_exponentially_with_bounded_jitter() -> None:
    retry = BackoffRetry(max_attempts=4, initial_s=0.1, max_s=10, jitter_s=0.05)
    waits = [retry.delay_before(n, BUSY) for n in (2, 3, 4)]
    for wait, base in zip(waits, (0.1, 0.2, 0.4), strict=True):
        assert wait is not None
        assert base <= wait <= base + 0.05


def test_gives_up_after_max_attempts_and_caps_the_wait() -> None:
    retry = BackoffRetry(max_attempts=3, initial_s=1, max_s=1.5, jitter_s=0)
    assert retry.delay_before(3, BUSY) == pytest.approx(1.5)
    assert retry.delay_before(4, BUSY) is None


def test_never_retries_bad_credentials() -> None:
    assert BackoffRetry().delay_before(2, ProviderAuthError("groq", "401")) is None
