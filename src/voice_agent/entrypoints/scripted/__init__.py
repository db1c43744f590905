"""Calls without a telephone: scripted scenarios on fakes, recorded caller files on the local
stack, and the report printed for either."""
