"""The call session: one phone call driven turn by turn."""
