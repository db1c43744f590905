"""`voice-agent`: the command line."""

from voice_agent.entrypoints.cli.main import main

__all__ = ["main"]
