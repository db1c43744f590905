"""Errors raised by domain rules."""


class DomainError(Exception):
    """Base class for a broken domain rule."""


class IllegalTransition(DomainError):
    """A conversation or call moved to a state it cannot reach from where it is."""
