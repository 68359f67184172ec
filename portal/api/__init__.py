"""The partner JSON API under /api/v1/: contact decisions, attempts and accounts for dialers,
SMS platforms and CRMs, authenticated by per-partner API keys."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint and its problem+json error handling."""
    from portal.api import problems
    from portal.api.views import bp

    app.config.setdefault("API_RATE_LIMIT", "1200 per minute")
    app.register_blueprint(bp)
    problems.handle_routing(app)
