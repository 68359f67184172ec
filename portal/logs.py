"""Logs that never carry an exception's message: it can quote a borrower's data (a name in a
constraint error, a number in a ValueError). Where the error happened stays; what it said goes."""

from __future__ import annotations

import logging
import traceback


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
