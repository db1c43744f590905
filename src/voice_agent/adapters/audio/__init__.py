"""Audio helpers shared by adapters: resampling (soxr), signal measures (numpy), playout."""
