"""The HTTP API (FastAPI): health, metrics, configuration status and call records."""

from voice_agent.entrypoints.web.api.app import ApiDependencies, create_app

__all__ = ["ApiDependencies", "create_app"]
