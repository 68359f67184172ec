"""Every request gets an id (a well-formed X-Request-ID, or a new one), echoed back, carried
into the jobs it queues, and one log line and one metric sample by its URL rule: the rule, not
the path, so no reference or id reaches the log, and no query string or body ever does."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from portal.logs import bind_request_id, request_id_from, unbind_request_id
from portal.ops.metrics import observe

HEADER = "X-Request-ID"
logger = logging.getLogger("portal.requests")


def _start() -> None:
    g.request_started = time.monotonic()
    g.request_id = request_id_from(request.headers.get(HEADER))
    g.request_id_token = bind_request_id(g.request_id)


def _finish(response):
    started = g.get("request_started")
    if started is None:  # a response made before our first hook ran
        return response
    seconds = time.monotonic() - started
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    response.headers[HEADER] = g.request_id
    observe(route, request.method, response.status_code, seconds)
    logger.info("%s %s %s", request.method, route, response.status_code, extra={
        "event": "request", "method": request.method, "route": route,
        "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
        "request_id": g.request_id})
    return response


def _unbind(_error=None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        unbind_request_id(token)


def register_observation(app: Flask) -> None:
    """Install the hooks first, so every other hook's request is counted and carries the id."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_unbind)
