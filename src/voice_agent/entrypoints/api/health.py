"""Component health with cached probes, so `/health` stays cheap under load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    status: Health
    detail: str = ""


Probe = Callable[[], Awaitable[ComponentHealth]]


class HealthChecker:
    """Runs every probe at most once per `ttl_s` (concurrent requests share one run); a
    probe that raises or takes longer than `timeout_s` reports unhealthy."""

    def __init__(
        self, probes: Mapping[str, Probe], *, ttl_s: float = 2.0, timeout_s: float = 1.0
    ) -> None:
        self._probes = dict(probes)
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._cached: dict[str, ComponentHealth] | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def check(self) -> tuple[Health, dict[str, ComponentHealth]]:
        async with self._lock:
            if self._cached is None or time.monotonic() - self._checked_at > self._ttl_s:
                results = await asyncio.gather(*(self._run(p) for p in self._probes.values()))
                self._cached = dict(zip(self._probes, results, strict=True))
                self._checked_at = time.monotonic()
            components = self._cached
        return overall(components.values()), components

    async def _run(self, probe: Probe) -> ComponentHealth:
        try:
            return await asyncio.wait_for(probe(), self._timeout_s)
        except TimeoutError:
            return ComponentHealth(Health.UNHEALTHY, "probe timed out")
        except Exception as error:
            return ComponentHealth(Health.UNHEALTHY, type(error).__name__)


def overall(components: object) -> Health:
    statuses = {c.status for c in components}  # type: ignore[attr-defined]
    if Health.UNHEALTHY in statuses:
        return Health.UNHEALTHY
    if Health.DEGRADED in statuses:
        return Health.DEGRADED
    return Health.HEALTHY
