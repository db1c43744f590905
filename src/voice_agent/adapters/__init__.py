"""Adapters: implementations of the application's ports, one technology each."""
