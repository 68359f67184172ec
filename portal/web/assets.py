"""Static files named by their content (`?v=<hash>`), so a browser keeps each for a year and a
new release is fetched at once: a phone on a poor network downloads the CSS and htmx once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request

#: A versioned static file never changes under its URL (a new content is a new URL).
FOREVER = "public, max-age=31536000, immutable"
#: Asked for by a stale or missing version: revalidate, so it is never kept past a release.
REVALIDATE = "no-cache"


class Versions:
    """Each static file's version: the start of its SHA-256, recomputed when the file changes."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self._seen: dict[str, tuple[float, str]] = {}

    def of(self, filename: str) -> str | None:
        path = self.folder / filename
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        seen = self._seen.get(filename)
        if seen is None or seen[0] != mtime:
            seen = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            self._seen[filename] = seen
        return seen[1]


def register_assets(app: Flask) -> None:
    versions = Versions(app.static_folder)

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = versions.of(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_static(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            filename = (request.view_args or {}).get("filename", "")
            current = request.args.get("v") == versions.of(filename)
            response.headers["Cache-Control"] = FOREVER if current else REVALIDATE
        return response
