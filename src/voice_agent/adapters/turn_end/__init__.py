"""End-of-turn detectors (implementations of the `TurnEndDetector` port)."""
