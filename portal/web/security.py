"""Security headers with a per-response CSP nonce, and no caching of personal pages."""

from __future__ import annotations

import secrets

from flask import Flask, abort, g, request
from flask_login import current_user

from portal.web.i18n import register_filters


def _nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def register_security(app: Flask) -> None:
    register_filters(app)
    app.jinja_env.globals["csp_nonce"] = _nonce
    production = not app.config["PORTAL_DEMO"]

    @app.before_request
    def refuse_unusable_input():
        """A 400 page, before anything reads them, for a query string that is not UTF-8 (werkzeug
        fails to parse one) and for a NUL byte (no person types one; PostgreSQL text cannot hold
        one, so a query would fail with a 500)."""
        try:
            request.query_string.decode()
        except UnicodeDecodeError:
            abort(400)
        values = [request.path]
        for source in (request.args, request.form):
            for _key, items in source.lists():
                values.extend(v for v in items if isinstance(v, str))
        if any("\x00" in v for v in values):
            abort(400)

    @app.after_request
    def set_headers(response):
        # A page that needs a third party (Stripe.js on the card page) names it in
        # g.csp_sources; every other page allows only itself.
        extra = g.get("csp_sources", {})

        def sources(directive: str, *own: str) -> str:
            return " ".join((*own, *extra.get(directive, ())))

        script = sources("script-src", "'self'", f"'nonce-{_nonce()}'")
        connect = sources("connect-src", "'self'")
        frame = sources("frame-src") or "'none'"
        policy = (
            "default-src 'self'; "
            f"script-src {script}; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            f"connect-src {connect}; frame-src {frame}; "
            "form-action 'self'; frame-ancestors 'none'; "
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
        if current_user and current_user.is_authenticated and request.endpoint != "static":
            # Personal data must not linger in shared caches or the back-button cache (static
            # files hold none: web/assets.py caches them).
            headers["Cache-Control"] = "no-store"
        # Boosted pages and fragments come from the same URLs as plain pages. One Vary header,
        # merged with what views (web/fragments.py) and the session add, not a second line.
        response.vary.add("HX-Request")
        return response
