"""The HTTP process: the operations API, the web phone (`/` and `/ws`) and its guard, and
the uvicorn server that ends calls properly on shutdown."""
