"""Error pages: a clear message and the right status for anything a person or client sends."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound, ServiceUnavailable

from portal.operations import NotFound as NothingOfYours

log = logging.getLogger("portal.errors")

MESSAGES = {
    400: _l("Something in that request was not right. Go back and try again."),
    403: _l("You do not have access to this page."),
    404: _l("We could not find that page."),
    405: _l("That action is not available here."),
    413: _l("That was too large to send. Try a smaller amount of text or a smaller file."),
    429: _l("Too many attempts. Wait a few minutes, then try again."),
    500: _l("Something went wrong on our side. Nothing was changed. Please try again."),
    503: _l("We could not reach our records just now. Nothing was changed. Please try again "
            "in a minute."),
}
TITLES = {
    400: _l("Request not understood"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Not allowed"),
    413: _l("Too large"),
    429: _l("Please wait"),
    500: _l("Sorry, something went wrong"),
    503: _l("Briefly unavailable"),
}


def _page(code: int, message=None, detail=None):
    return (
        render_template(
            "errors/page.html",
            code=code,
            title=TITLES.get(code, TITLES[400]),
            message=message or MESSAGES.get(code, MESSAGES[400]),
            detail=detail,
        ),
        code,
    )


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, _l("This form expired or was sent from elsewhere. Please try again."))

    @app.errorhandler(NothingOfYours)
    def nothing_of_yours(error):
        # The services' "not found" is answered as the web's own 404 is, HTML or problem JSON.
        return current_app.handle_user_exception(NotFound())

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        # A reason the code gave on purpose (why a role may not), never werkzeug's default text.
        detail = error.description if error.description != type(error).description else None
        body, code = _page(error.code, detail=detail)
        return body, code, [(k, v) for k, v in error.get_headers() if k == "Retry-After"]

    @app.errorhandler(OperationalError)
    def database_unreachable(error):
        # The connection dropped or the server restarted mid-request, or a deadlock came back
        # on every run of the operation: the transaction never committed, so nothing was
        # changed. The pool's pre-ping replaces a dead connection on the next request. Said as
        # a 503 (HTML or the API's problem JSON), not a 500.
        log.warning("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        return current_app.handle_user_exception(ServiceUnavailable(retry_after=30))

    @app.errorhandler(InternalServerError)
    def server_error(error):
        original = getattr(error, "original_exception", None)
        # Type only: exception text can carry personal data.
        log.error("unhandled error: %s", type(original).__name__ if original else "unknown")
        return _page(500)
