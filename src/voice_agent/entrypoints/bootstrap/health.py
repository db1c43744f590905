"""Component health with cached probes, so `/health` stays cheap under load (the stacks
give their probes, the API serves them)."""

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
    """Runs the probes at most once per `ttl_s` and never in a request's path once warm:
    a request gets the last results, and a stale cache is refreshed in the background
    (concurrent requests share one refresh). A probe that raises or takes longer than
    `timeout_s` reports unhealthy."""

    def __init__(
        self, probes: Mapping[str, Probe], *, ttl_s: float = 2.0, timeout_s: float = 1.0
    ) -> None:
        self._probes = dict(probes)
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._cached: dict[str, ComponentHealth] | None = None
        self._checked_at = 0.0
        self._refresh: asyncio.Task[dict[str, ComponentHealth]] | None = None

    async def check(self) -> tuple[Health, dict[str, ComponentHealth]]:
        stale = time.monotonic() - self._checked_at > self._ttl_s
        if self._cached is None:
            components = await self._refreshing()
        else:
            if stale:
                self._refreshing_in_background()
            components = self._cached
        return overall(components.values()), components

    async def wait_for_refresh(self) -> None:
        """Wait for a background refresh in progress, if any."""
        if self._refresh is not None:
            await asyncio.shield(self._refresh)

    def _refreshing_in_background(self) -> None:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._run_all(), name="health-probes")

    async def _refreshing(self) -> dict[str, ComponentHealth]:
        self._refreshing_in_background()
        assert self._refresh is not None
        return await asyncio.shield(self._refresh)

    async def _run_all(self) -> dict[str, ComponentHealth]:
        results = await asyncio.gather(*(self._run(p) for p in self._probes.values()))
        self._cached = dict(zip(self._probes, results, strict=True))
        self._checked_at = time.monotonic()
        return self._cached

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
