"""Use cases (the call session and its turn engine) and the ports adapters implement."""
