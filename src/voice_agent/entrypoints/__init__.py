"""Entry points: the CLI, the HTTP app, the worker, and the container that wires adapters."""
