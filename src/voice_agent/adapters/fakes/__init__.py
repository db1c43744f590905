"""Fakes: real, in-memory implementations of the provider ports (speech to text, language
model, text to speech) and of the call repository, with knobs for latency and failure.

They are what end-to-end tests and `voice-agent call --script` run on (over the in-memory
line of `adapters/memory_line`).
"""
