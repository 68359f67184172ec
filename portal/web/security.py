"""Security headers with a per-response CSP nonce, and no caching of personal pages."""

from __future__ import annotations

import secrets

from flask import Flask, g
from flask_login import current_user


def _nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def register_security(app: Flask) -> None:
    from portal.web.i18n import register_filters

    register_filters(app)
    app.jinja_env.globals["csp_nonce"] = _nonce
    production = not app.config["PORTAL_DEMO"]

    @app.after_request
    def set_headers(response):
        policy = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{_nonce()}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'"
        )
        headers = response.headers
        headers["Content-Security-Policy"] = policy
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(self)"
        if production:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if current_user and current_user.is_authenticated:
            # Personal data must not linger in shared caches or the back-button cache.
            headers["Cache-Control"] = "no-store"
        headers.add("Vary", "HX-Request")
        return response
