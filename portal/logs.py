"""Logs that never carry an exception's message: it can quote a borrower's data (a name in a
constraint error, a number in a ValueError). Where the error happened stays; what it said goes.
And the one-line-per-request-and-job JSON format, whose fields are a fixed list for the same
reason."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar, Token
from datetime import UTC, datetime


class WithoutExceptionText(logging.Filter):
    """Replace a record's exception with its type and frames, dropping every message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = "".join(traceback.format_tb(error.__traceback__))
            causes = []
            seen = error.__cause__ or error.__context__
            while seen is not None and len(causes) < 10:
                causes.append(type(seen).__name__)
                seen = seen.__cause__ or seen.__context__
            chain = f" (after {', '.join(causes)})" if causes else ""
            record.msg = f"{record.getMessage()}: {type(error).__name__}{chain}\n{frames}".rstrip()
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def keep_exception_text_out(*loggers: logging.Logger) -> None:
    """Attach the filter (once) to each logger that reports unhandled errors."""
    for logger in loggers:
        if not any(isinstance(f, WithoutExceptionText) for f in logger.filters):
            logger.addFilter(WithoutExceptionText())


# --- one JSON line per request and per job ------------------------------------------------------

#: What a request id may look like when a proxy or a client sends one (anything else is replaced:
#: a header is the caller's text, and it ends up in every log line of the request).
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,127}")
#: Where the current request's (or job's) id is kept while it runs.
_request_id: ContextVar[str | None] = ContextVar("portal_request_id", default=None)


def request_id_from(header: str | None) -> str:
    """The incoming X-Request-ID if it is well formed, else a new one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request (or job) being served in this context, if any."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Token:
    """Make `value` the current request id (until `unbind_request_id`)."""
    return _request_id.set(value)


def unbind_request_id(token: Token) -> None:
    _request_id.reset(token)


#: The attributes of a LogRecord that are the record's own, not the `extra` a caller gave.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
#: The `extra` fields allowed into a line: facts about the request or job, never its data.
FIELDS = ("event", "method", "route", "status", "duration_ms", "request_id", "task", "job_id",
          "queue", "outcome", "attempts")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the known `extra` fields only,
    so a stray `extra` (a form, an email) never reaches the log."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if "request_id" not in line and current_request_id():
            line["request_id"] = current_request_id()
        if record.exc_info:  # only when no WithoutExceptionText filter ran: type and place
            line["error"] = type(record.exc_info[1]).__name__
        return json.dumps(line, separators=(",", ":"), default=str)


class _ToStderr(logging.StreamHandler):
    """A handler writing to whatever sys.stderr is at the time (a test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


#: Loggers kept to warnings and errors once ours are configured.
QUIET = ("stripe", "urllib3")


def configure(log_format: str) -> None:
    """Send the root logger's records to stderr, as JSON lines or as text (LOG_FORMAT), once."""
    root = logging.getLogger()
    formatter = (JsonFormatter() if log_format == "json" else
                 logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler = next((h for h in root.handlers if getattr(h, "portal", False)), None)
    if handler is None:
        handler = _ToStderr()
        handler.portal = True
        root.addHandler(handler)
    handler.setFormatter(formatter)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # Libraries' own chatter names raw URLs (Stripe's request lines; in JSON mode, where ours is
    # the line per request, the development server's path and query string): problems only.
    for name in QUIET + (("werkzeug",) if log_format == "json" else ()):
        logging.getLogger(name).setLevel(logging.WARNING)
