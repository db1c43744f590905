"""The embedded local stack: models shipped inside PyPI packages, run on the CPU."""
