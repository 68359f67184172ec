"""Where a redirect may go back to: only a page of this site, whatever the client sent."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


def safe_path(target: str | None) -> str:
    """`target` if it is a path on this site, else the home page."""
    if not target:
        return url_for("web.home")
    # Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil.example" and
    # "/\t/evil.example" mean "//evil.example". urlsplit (which strips tabs and newlines) and
    # werkzeug (which percent-encodes "\\" in Location) already defuse them; refuse them outright
    # rather than rely on that.
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


def back_to_referrer() -> str:
    """The page the request came from (its path only) if it is on this site, else home. A
    Referer is absolute; only this very origin (scheme and host) is followed."""
    referrer = request.referrer or ""
    if "\\" in referrer or any(ord(c) < 32 or ord(c) == 127 for c in referrer):
        return url_for("web.home")
    parts = urlsplit(referrer)
    if parts.scheme or parts.netloc:
        if (parts.scheme, parts.netloc) != (request.scheme, request.host):
            return url_for("web.home")
        referrer = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_path(referrer)
