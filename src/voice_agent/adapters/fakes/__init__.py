"""Fakes: real, in-memory implementations of every port with knobs for latency and failure.

They are what end-to-end tests and `voice-agent call --script` run on.
"""
