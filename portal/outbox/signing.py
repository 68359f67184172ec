"""Webhook signatures (CONTRACT.md): `Portal-Signature: t=<unix>,v1=<hex hmac-sha256 of "t.body">`.

Pure functions, no Flask or database: the sender signs with the endpoint's secret, and a receiver
(our tests, or an agency's system written from this module) verifies. Several `v1=` values are
accepted, so an endpoint can roll its secret over while both are still in use.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Portal-Signature"
SCHEME = "v1"
#: How far a signature's timestamp may be from the receiver's clock, in seconds.
DEFAULT_TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the secret."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the Portal-Signature header for this body sent at this time."""
    return f"t={int(timestamp)},{SCHEME}={signature(secret, timestamp, body)}"


def parse(header: str) -> tuple[int, list[str]] | None:
    """`(timestamp, [v1 signatures])`, or None when the header is not of our form."""
    timestamp = None
    signatures = []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                return None
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
        # Unknown schemes are ignored, so a future v2 can be sent next to v1.
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(header: str, secret: str, body: bytes, tolerance: int = DEFAULT_TOLERANCE,
           *, now: float | None = None) -> bool:
    """True when the header carries a v1 signature of this body by this secret, made within
    `tolerance` seconds of `now` (defaults to the current time) in either direction."""
    parsed = parse(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    # Compare against every candidate without stopping early (bytes: headers may hold anything).
    return any([hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
                for candidate in signatures])
