"""`/readyz` for load balancers and `/metrics` for Prometheus."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from portal.extensions import csrf, limiter
from portal.ops.metrics import exposition
from portal.ops.readiness import run_checks
from portal.web.access import public

bp = Blueprint("ops", __name__)


@bp.get("/readyz")
@public
@limiter.exempt
def ready():
    """200 when every check passes, else 503; each check by name with why."""
    checks = run_checks()
    ready = all(c.ok for c in checks.values())
    body = {"status": "ready" if ready else "not ready",
            "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()}}
    return body, 200 if ready else 503


@bp.get("/metrics")
@public
@limiter.exempt
@csrf.exempt
def metrics():
    """Prometheus text format, for a scraper holding METRICS_TOKEN (404 without one set: the
    page is not there to be found; 401 with a wrong or missing token)."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("bearer token required\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    return Response(exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")
