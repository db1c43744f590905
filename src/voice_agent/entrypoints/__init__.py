"""Entry points, grouped by role: `bootstrap` (settings, the container, the stacks), `cli`,
`web` (the API and the web phone) and `scripted` (calls without a telephone)."""
