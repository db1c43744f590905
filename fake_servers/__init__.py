"""Local servers on 127.0.0.1 (ephemeral ports) that speak the exact wire protocols of
Deepgram, Groq and Cartesia, scriptable and with fault-injection knobs. The contract
suites, the end-to-end tests and `python -m bench providers` run the real adapters (on the
vendors' SDKs) against them, so this package sits beside `tests/` and `bench/`, importing
neither (an import-linter contract keeps `bench` and it off `tests`)."""
