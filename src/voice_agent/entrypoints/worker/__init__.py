"""`voice-agent worker`: phone calls from LiveKit's agent dispatch, run like every call."""
