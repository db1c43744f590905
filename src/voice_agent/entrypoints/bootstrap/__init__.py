"""Start-up wiring: settings, the container (the composition root), the stacks of adapters
it chooses between, and the call store opened at start-up."""
