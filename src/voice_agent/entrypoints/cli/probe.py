"""`python -m voice_agent.entrypoints.cli.probe [URL]`: the container's health check.

Exits 0 when `URL` (default: `$HEALTHCHECK_URL`, else the API's `/health` on loopback) answers
200 within the timeout, 1 otherwise, printing one line saying why. The image has no curl: this
uses only the standard library, and imports nothing of the agent (it runs every few seconds).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/health"
TIMEOUT_S = 3.0


def probe(url: str, timeout_s: float = TIMEOUT_S) -> tuple[bool, str]:
    """(healthy, the reason in a few words)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200, f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"{url}: HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return False, f"{url}: {reason}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("HEALTHCHECK_URL", DEFAULT_URL)
    healthy, reason = probe(url)
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
