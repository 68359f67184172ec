"""An unhandled error is logged by its type and place, never by its text (issue 12): exception
messages can quote a borrower's data."""

from __future__ import annotations

import logging

#: Built at run time, so no source line the traceback quotes can contain it.
SECRET = " ".join(["Alex", "Rivera", "123-45-6789"])


def _raise_with_personal_data():
    try:
        raise KeyError(f"no row for {SECRET}")
    except KeyError as inner:
        raise ValueError(f"could not place {SECRET}") from inner


def test_flask_reports_an_unhandled_error_without_its_text(app, caplog):
    caplog.set_level(logging.ERROR)
    try:
        _raise_with_personal_data()
    except ValueError:
        # What Flask's handle_exception does with an unhandled error (app.log_exception).
        app.logger.error("Exception on /pay [POST]", exc_info=True)
    logged = caplog.text
    assert "Exception on /pay [POST]: ValueError (after KeyError)" in logged
    assert "_raise_with_personal_data" in logged  # where it happened stays
    assert SECRET not in logged


def test_the_filter_is_attached_once(app):
    from portal.logs import WithoutExceptionText, keep_exception_text_out

    keep_exception_text_out(app.logger)
    assert sum(isinstance(f, WithoutExceptionText) for f in app.logger.filters) == 1


def test_a_record_without_an_exception_is_left_alone(app, caplog):
    caplog.set_level(logging.INFO)
    app.logger.warning("payment %s: receipt not sent", 42)
    assert "payment 42: receipt not sent" in caplog.text
