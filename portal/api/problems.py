"""RFC 9457 problem details, so every error under /api/ is JSON a program can act on, never HTML.

Each problem carries a stable `code` (the list below is public: partners branch on it) and, for
invalid input, `errors`: one entry per field, with a JSON pointer into the request body.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable, default_exceptions

from portal.operations import Refused

log = logging.getLogger("portal.api")

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"

#: code -> (HTTP status, title). Codes are part of the public contract: add, never rename.
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Request not understood"),
    "invalid_json": (400, "Body is not valid JSON"),
    "invalid_csv": (400, "CSV not usable"),
    "unauthorized": (401, "Missing or invalid API key"),
    "key_revoked": (401, "API key revoked"),
    "forbidden": (403, "Not allowed"),
    "not_found": (404, "Not found"),
    "account_not_found": (404, "Account not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "ambiguous_account": (409, "More than one account has this id"),
    "not_acceptable": (406, "Not acceptable"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "invalid_request": (422, "Request not valid"),
    "refused": (422, "Request refused"),
    "no_rule_pack": (422, "No rule pack in force at that instant"),
    "rate_limited": (429, "Too many requests"),
    "internal_error": (500, "Internal error"),
    "service_unavailable": (503, "Service unavailable"),
}
#: What an HTTP error raised by Flask, Werkzeug or an extension is called.
CODE_OF_STATUS = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
    500: "internal_error", 503: "service_unavailable",
}
DETAIL_OF_STATUS = {
    400: "The request could not be understood.",
    401: "Send an API key: Authorization: Bearer <key>.",
    404: "There is nothing at this address. See /api/v1/openapi.json for the paths.",
    405: "This path does not accept this method.",
    413: "The request body is larger than this endpoint accepts.",
    429: "Too many requests for this API key. Wait, then retry (see Retry-After).",
    500: "Something went wrong on our side. Nothing was changed; retry later.",
    503: "The service could not reach its database. Nothing was changed; retry shortly "
         "(see Retry-After).",
}


def type_uri(code: str) -> str:
    return f"urn:portal:problem:{code}"


class ApiProblem(Exception):
    """Raised anywhere in the API to answer with one problem document."""

    def __init__(self, code: str, detail: str, *, errors: list[dict] | None = None,
                 headers: dict | None = None, status: int | None = None,
                 extensions: dict | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.status = status or CODES[code][0]
        #: Members of this problem type beyond the standard ones (RFC 9457 section 3.2).
        self.extensions = extensions or {}

    def body(self) -> dict:
        return {**problem_body(self.code, self.detail, errors=self.errors, status=self.status),
                **self.extensions}


class AccountNotFound(LookupError):
    """No account with this reference among the calling agency's (existence is not revealed)."""

    def __init__(self, reference: str):
        super().__init__(reference)
        self.reference = reference

    def problem(self) -> ApiProblem:
        return ApiProblem(
            "account_not_found",
            f"No account with reference {self.reference!r} is available to this API key.",
        )


def problem_body(code: str, detail: str, *, errors: list[dict] | None = None,
                 status: int | None = None) -> dict:
    known_status, title = CODES.get(code, (status or 500, code.replace("_", " ").capitalize()))
    body = {
        "type": type_uri(code),
        "title": title,
        "status": status or known_status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body


def field_errors(error: ValidationError) -> list[dict]:
    """Pydantic's errors as RFC 9457 entries: a JSON pointer, the field's name, and why."""
    found = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        path = [str(p) for p in item["loc"]]
        found.append({
            "pointer": "#/" + "/".join(path) if path else "#",
            "field": ".".join(path),
            "detail": item["msg"],
        })
    return found


def invalid(error: ValidationError) -> ApiProblem:
    errors = field_errors(error)
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "the body"
    return ApiProblem("invalid_request", f"Check {fields}: see errors.", errors=errors)


def response(problem: ApiProblem) -> Response:
    resp = Response(json.dumps(problem.body()), status=problem.status, mimetype=PROBLEM_JSON)
    for name, value in problem.headers.items():
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp


def from_http(error: HTTPException) -> Response:
    """Any HTTP error (routing, body limits, rate limits) as a problem, its headers kept."""
    status = error.code or 500
    if status == 500:
        return from_exception(getattr(error, "original_exception", None) or error)
    code = CODE_OF_STATUS.get(status, f"http_{status}")
    detail = DETAIL_OF_STATUS.get(status) or (error.description or error.name)
    headers = {}
    if error.response is not None:  # e.g. a rate-limit breach carries Retry-After
        headers.update({k: v for k, v in error.response.headers.items()
                        if k.lower() in ("retry-after", "allow", "www-authenticate")})
    for name, value in error.get_headers():
        if name.lower() in ("allow", "retry-after", "www-authenticate"):
            headers[name] = value
    return response(ApiProblem(code, detail, headers=headers, status=status))


def from_exception(error: BaseException | None) -> Response:
    # Type only: an exception's text can carry personal data.
    log.error("API error: %s", type(error).__name__ if error else "unknown")
    return response(ApiProblem("internal_error", DETAIL_OF_STATUS[500]))


def handle_blueprint(bp) -> None:
    """Problem handlers for every error once one of the blueprint's routes matched (called once,
    when the blueprint is defined: a blueprint takes no handlers after its registration)."""
    bp.register_error_handler(ApiProblem, response)
    bp.register_error_handler(AccountNotFound, lambda e: response(e.problem()))
    bp.register_error_handler(Refused, lambda e: response(
        ApiProblem("refused", e.message, status=e.status if e.status >= 400 else 422)))
    # By code as well as by class: the app's own code-specific handlers would win otherwise.
    for status in default_exceptions:
        if status >= 400:
            bp.register_error_handler(status, from_http)
    bp.register_error_handler(HTTPException, from_http)
    # The connection dropped or the server restarted mid-request: nothing committed.
    bp.register_error_handler(OperationalError, lambda e: from_http(
        ServiceUnavailable(retry_after=30)))
    bp.register_error_handler(Exception, from_exception)


def handle_routing(app: Flask) -> None:
    """404 and 405 are raised before any route matched, so no blueprint handler sees them: under
    /api/ they become problems here; elsewhere the app's own error pages answer as before."""

    def routing_error(error: HTTPException):
        if request.path.startswith(API_PREFIX):
            return from_http(error)
        return _app_handler(app, error)

    app.register_error_handler(404, routing_error)
    app.register_error_handler(405, routing_error)


def _app_handler(app: Flask, error: HTTPException):
    """The handler Flask would have chosen had the API not registered one for this code."""
    for name in (*request.blueprints, None):
        handlers = app.error_handler_spec[name][None]
        for cls in type(error).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return handler(error)
    return error
