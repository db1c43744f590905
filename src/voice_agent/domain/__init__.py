"""The domain: calls, turns, conversation state and events. Pure Python, standard library only."""
