"""Observability: Prometheus metrics from domain events, structured logs with masking."""
