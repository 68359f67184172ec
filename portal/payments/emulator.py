"""localstripe, the Stripe API emulator used in demo mode and tests: waiting for it, wiring its
webhooks to us (it keeps them in memory only, so after every start), and resetting it."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request

#: The id under which our webhook is registered with the emulator.
HOOK_ID = "portal"


def _request(url: str, method: str = "GET", data: dict | None = None, timeout: float = 5):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 loopback
        return response.status


def wait_until_up(api_base: str, timeout: float = 30) -> None:
    """Return once the emulator answers; raise TimeoutError if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _request(f"{api_base}/js.stripe.com/v3/", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Stripe emulator answered at {api_base}") from None
            time.sleep(0.2)


def register_webhook(api_base: str, url: str, secret: str) -> None:
    """Have the emulator POST its events to `url`, signed with `secret`."""
    _request(f"{api_base}/_config/webhooks/{HOOK_ID}", "POST", {"url": url, "secret": secret})


def reset(api_base: str) -> None:
    """Forget every object the emulator holds (webhooks too)."""
    _request(f"{api_base}/_config/data", "DELETE")
