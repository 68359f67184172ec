"""Putting the partner API on an app: its blueprint and its problem+json error handling."""

from __future__ import annotations

from flask import Flask

from portal.api import problems
from portal.api.views import bp


def init_app(app: Flask) -> None:
    """Register the blueprint and its problem+json error handling."""
    app.config.setdefault("API_RATE_LIMIT", "1200 per minute")
    app.register_blueprint(bp)
    problems.handle_routing(app)
