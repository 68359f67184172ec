"""The /api/v1/ blueprint: authenticate the key, parse the body, call one service function, answer
JSON (or, for a CSV upload, a CSV stream read and written row by row)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache, wraps

import click
from flask import Blueprint, Response, current_app, g, request, stream_with_context
from flask_limiter.util import get_remote_address
from pydantic import BaseModel, ValidationError

from portal import csvsafe
from portal.api import service
from portal.api.problems import AccountNotFound, ApiProblem, handle_blueprint, invalid
from portal.api.schemas import (
    CSV_ANSWER_COLUMNS,
    CSV_COLUMNS,
    MAX_BULK_ITEMS,
    AttemptRequest,
    Decision,
    DecisionRequest,
    DirectPaymentAnswer,
    DirectPaymentRequest,
    Remittances,
    openapi_document,
)
from portal.extensions import csrf, db, limiter
from portal.identity.models import StaffUser
from portal.lenders import direct, statements
from portal.lenders.remittance import BadPeriod, period_bounds
from portal.lenders.scope import creditor_ids
from portal.operations import Refused, reading
from portal.web.access import public

log = logging.getLogger("portal.api")

#: The access kind of views that need a partner API key (tests/test_access.py checks each).
PARTNER = "partner"
#: The access kind of views that need a lender user's own API key.
LENDER_KEY = "lender_key"
#: A CSV upload has no size limit (None would mean "the app's limit" to Flask, not "none").
UNLIMITED = 2**63 - 1
#: A JSON bulk body: 10,000 items of a few hundred bytes each, with room to spare.
MAX_BULK_JSON_BYTES = 16 * 1024 * 1024
#: A CSV line longer than this is answered as a bad row, never buffered further.
MAX_CSV_LINE_BYTES = 16 * 1024
CSV_READ_CHUNK = 64 * 1024
#: Answer rows written per chunk of the streamed answer.
CSV_FLUSH_ROWS = 200

bp = Blueprint("api", __name__, url_prefix="/api/v1", cli_group="api")
csrf.exempt(bp)  # no cookies, no forms: a bearer key is not sent by a browser on its own
handle_blueprint(bp)


# --- the key -------------------------------------------------------------------------------------


def _caller() -> service.Caller | None:
    """The key presented with this request (looked up once: the rate limiter asks first)."""
    if "api_caller" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        g.api_caller = service.find_key(token) if scheme.lower() == "bearer" and token else None
    return g.api_caller


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _rate_key() -> str:
    """Per key for a valid key; per client address for anything else."""
    caller = _caller()
    if caller is not None and not caller.revoked:
        return f"api-key:{caller.key_id}"
    return f"api-anonymous:{get_remote_address()}"


limiter.limit(_rate_limit, key_func=_rate_key)(bp)


def _authenticate() -> service.Caller:
    """The request's valid, unrevoked partner key, or the 401 problem."""
    caller = _caller()
    if caller is None:
        presented = bool(request.headers.get("Authorization"))
        raise ApiProblem(
            "unauthorized",
            "This API key is not valid." if presented
            else "Send an API key: Authorization: Bearer <key>.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'
                     + (', error="invalid_token"' if presented else "")},
        )
    if caller.revoked:
        raise ApiProblem("key_revoked", "This API key was revoked; ask the agency for a new "
                         "one.", headers={"WWW-Authenticate":
                                          'Bearer realm="api", error="invalid_token"'})
    return caller


def api_key_required(view):
    """A valid, unrevoked partner API key of the agency's own (a lender's key is refused: it sees
    nothing of the agency's); the view then sees `g.caller`."""

    @wraps(view)
    def guarded(*args, **kwargs):
        g.caller = _authenticate()
        if g.caller.lender_user_id is not None:
            raise ApiProblem("forbidden", "A lender's key reads remittances and reports direct "
                             "payments only.")
        return view(*args, **kwargs)

    guarded.access = PARTNER
    return guarded


def lender_key_required(view):
    """A valid, unrevoked key of a lender user's own system; the view then sees `g.caller`."""

    @wraps(view)
    def guarded(*args, **kwargs):
        g.caller = _authenticate()
        if g.caller.lender_user_id is None:
            raise ApiProblem("forbidden", "Only a lender's own key reads remittances: ask the "
                             "agency for one.")
        return view(*args, **kwargs)

    guarded.access = LENDER_KEY
    return guarded


@bp.url_value_preprocessor
def _body_limit(endpoint, values):
    """Lift the app's body limit for bulk uploads only. This runs before every before_request
    hook, which matters: a hook that reads the form also fixes the request's limit. So the key is
    checked here first: without a valid one, the 401 comes before any of the body is read."""
    if endpoint == "api.decide_bulk":
        _authenticate()
        request.max_content_length = (UNLIMITED if request.mimetype == "text/csv"
                                      else MAX_BULK_JSON_BYTES)


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# --- parsing and answering -----------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _json_body():
    if not request.is_json:
        raise ApiProblem("unsupported_media_type", "Send the body as application/json.")
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiProblem("invalid_json", "The body is not valid JSON (UTF-8).") from None


def _parse(model: type[BaseModel], data):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(error) from None


def _answer(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status=status, mimetype="application/json")


def _item(outcome) -> dict:
    """One bulk item: the body the single endpoint would have answered."""
    if isinstance(outcome, Decision):
        return outcome.model_dump(mode="json")
    if isinstance(outcome, AccountNotFound):
        outcome = outcome.problem()
    return outcome.body()


# --- routes --------------------------------------------------------------------------------------


@bp.get("/accounts/<account_ref>")
@api_key_required
def account(account_ref: str):
    creditor = (request.args.get("creditor") or "").strip() or None
    return _answer(service.account_view(g.caller.agency_id, account_ref, creditor))


@bp.post("/contact-decisions")
@api_key_required
def decide():
    body = _parse(DecisionRequest, _json_body())
    return _answer(service.decide(g.caller.agency_id, body, _now()))


@bp.post("/contact-decisions/bulk")
@api_key_required
def decide_bulk():
    if request.mimetype == "text/csv":
        rows = CsvRows(request.stream)  # the header is checked now, before any answer starts
        answers = service.decide_many(g.caller.agency_id, rows, _now())
        return Response(stream_with_context(_csv_answer(answers)), mimetype="text/csv")
    body = _json_body()
    if not isinstance(body, list):
        raise ApiProblem("invalid_request", "Send a JSON array of decision requests, or a CSV "
                         "upload (text/csv).",
                         errors=[{"pointer": "#", "field": "", "detail": "must be an array"}])
    if len(body) > MAX_BULK_ITEMS:
        raise ApiProblem("payload_too_large", f"At most {MAX_BULK_ITEMS} items in a JSON array "
                         f"({len(body)} sent); upload a CSV (text/csv) for more.")
    items = []
    for index, data in enumerate(body):
        try:
            items.append((index, _parse(DecisionRequest, data)))
        except ApiProblem as problem:
            items.append((index, problem))
    answers = [_item(outcome) for _, outcome in
               service.decide_many(g.caller.agency_id, items, _now())]
    return Response(json.dumps(answers), mimetype="application/json")


@bp.post("/contact-attempts")
@api_key_required
def record_attempt():
    body = _parse(AttemptRequest, _json_body())
    return _answer(service.record_attempt(g.caller, body, _now(), request.remote_addr), 201)


@bp.get("/remittances")
@lender_key_required
def remittances():
    period = (request.args.get("period") or "").strip() or None
    if period is not None:
        try:
            period_bounds(period)
        except BadPeriod:
            raise ApiProblem("invalid_request", "period is written YYYY-MM.", errors=[
                {"pointer": "#/period", "field": "period", "detail": "not YYYY-MM"}]) from None
    with reading():
        user = db.session.get(StaffUser, g.caller.lender_user_id)
        found = [statements.as_json(row)
                 for row in statements.statements_of(creditor_ids(user), period)]
    return _answer(Remittances(remittances=found))


@bp.post("/direct-payments")
@lender_key_required
def report_direct_payment():
    body = _parse(DirectPaymentRequest, _json_body())
    with reading():
        ids = creditor_ids(db.session.get(StaffUser, g.caller.lender_user_id))
    row = direct.report(ids, direct.Report(body.account_ref, body.amount, body.paid_on,
                                           body.reference),
                        g.caller.actor(request.remote_addr), f"partner:key:{g.caller.public_id}")
    return _answer(DirectPaymentAnswer(id=row.id, account_ref=body.account_ref.strip(),
                                       amount_minor=row.amount_minor, currency=row.currency,
                                       paid_on=row.paid_on), 201)


@bp.get("/openapi.json")
@public
def openapi():
    return Response(_openapi_text(), mimetype="application/json")


@cache
def _openapi_text() -> str:
    return json.dumps(openapi_document(), indent=1)


# --- CSV, a row at a time ------------------------------------------------------------------------

TOO_LONG = object()


def _lines(stream) -> Iterator[bytes | object]:
    """Physical lines of the upload, read a chunk at a time; an over-long line is TOO_LONG."""
    buffer, skipping = b"", False
    while chunk := stream.read(CSV_READ_CHUNK):
        *complete, buffer = (buffer + chunk).split(b"\n")
        for line in complete:
            yield TOO_LONG if skipping or len(line) > MAX_CSV_LINE_BYTES else line
            skipping = False
        if len(buffer) > MAX_CSV_LINE_BYTES:
            buffer, skipping = b"", True
    if skipping or len(buffer) > MAX_CSV_LINE_BYTES:
        yield TOO_LONG
    elif buffer:
        yield buffer


def _fields(line: bytes) -> list[str]:
    text = line.decode("utf-8").rstrip("\r")
    return next(csv.reader([text], strict=True), [])


class CsvRows:
    """The upload as (tag, DecisionRequest or ApiProblem) pairs; the header is read at once."""

    def __init__(self, stream):
        self._lines = _lines(stream)
        self._number = 1
        first = next(self._lines, None)
        if first is None:
            raise ApiProblem("invalid_csv", "The upload is empty: send a header line "
                             f"{','.join(CSV_COLUMNS)} and then one row per decision.")
        try:
            if first is TOO_LONG:
                raise ValueError
            header = [h.strip().lower() for h in _fields(first.removeprefix(b"\xef\xbb\xbf"))]
        except (ValueError, csv.Error):
            raise ApiProblem("invalid_csv", "The header line is not readable CSV in "
                             "UTF-8.") from None
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise ApiProblem("invalid_csv", f"The header lacks {', '.join(missing)}: it must "
                             f"name the columns {','.join(CSV_COLUMNS)}.")
        repeated = sorted({h for h in header if h in CSV_COLUMNS and header.count(h) > 1})
        if repeated:
            raise ApiProblem("invalid_csv", f"The header names {', '.join(repeated)} twice.")
        self.header = header

    def __iter__(self) -> Iterator[tuple[tuple[int, dict], DecisionRequest | ApiProblem]]:
        for line in self._lines:
            self._number += 1
            if line is not TOO_LONG and not line.strip():
                continue
            raw: dict = {}
            try:
                raw = self._fields(line)
                request_ = _parse(DecisionRequest, {c: raw[c] or None for c in CSV_COLUMNS})
            except ApiProblem as problem:
                request_ = problem
            yield (self._number, raw), request_

    def _fields(self, line) -> dict:
        if line is TOO_LONG:
            raise ApiProblem("invalid_csv", f"Line longer than {MAX_CSV_LINE_BYTES} bytes.")
        try:
            fields = _fields(line)
        except UnicodeDecodeError:
            raise ApiProblem("invalid_csv", "Line is not UTF-8.") from None
        except csv.Error as error:
            raise ApiProblem("invalid_csv", f"Line is not readable CSV: {error}.") from None
        if len(fields) != len(self.header):
            raise ApiProblem("invalid_csv", f"Expected {len(self.header)} fields as in the "
                             f"header, found {len(fields)}.")
        return {c: fields[self.header.index(c)] for c in CSV_COLUMNS}


def _csv_row(number, raw: dict, outcome) -> list:
    common = [number, raw.get("account_ref", ""), raw.get("channel", ""),
              raw.get("destination", "")]
    if isinstance(outcome, Decision):
        answer = outcome.model_dump(mode="json")
        blocked = [r["rule"] for r in answer["reasons"] if r["effect"] == "block"]
        limited = [r["rule"] for r in answer["reasons"] if r["effect"] == "limit"]
        return [*common, answer["at"], "true" if answer["allowed"] else "false",
                answer["next_allowed_at"] or "", ";".join(blocked), ";".join(limited), "", ""]
    body = _item(outcome)
    detail = body["detail"]
    if body.get("errors"):
        detail = "; ".join(f"{e['field'] or 'row'}: {e['detail']}" for e in body["errors"])
    return [*common, raw.get("at", ""), "", "", "", "", body["code"], detail]


def _csv_answer(answers: Iterable) -> Iterator[str]:
    """The answer rows, then `end`: an answer without `end` is not whole (see the OpenAPI)."""
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(CSV_ANSWER_COLUMNS)
    blank = [""] * (len(CSV_ANSWER_COLUMNS) - 1)
    try:
        for count, ((number, raw), outcome) in enumerate(answers, 1):
            writer.writerow(_csv_row(number, raw, outcome))
            if count % CSV_FLUSH_ROWS == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
    except Exception as error:  # the status line is long gone: say so in the stream itself
        log.error("bulk CSV stopped: %s", type(error).__name__)
        writer.writerow(["abort", *blank[:-2], "internal_error",
                         "The answer stopped here; later rows were not answered."])
        yield out.getvalue()
        return
    writer.writerow(["end", *blank])
    yield out.getvalue()


# --- keys, from the command line -----------------------------------------------------------------


@bp.cli.command("issue-key")
@click.option("--agency", required=True, help="Agency name (created if new).")
@click.option("--partner", required=True, help="Partner name (created if new).")
def issue_key_command(agency: str, partner: str):
    """Issue an API key for a partner; the key is printed once and kept only as a digest."""
    public_id, key = service.issue_key(agency, partner)
    click.echo(f"key id {public_id}\nkey    {key}")


@bp.cli.command("revoke-key")
@click.argument("public_id")
def revoke_key_command(public_id: str):
    """Revoke an API key by its id; requests with it are refused from now on."""
    try:
        service.revoke_key(public_id)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"revoked {public_id}")


@bp.cli.command("attach-creditor")
@click.argument("code")
@click.option("--agency", required=True, help="Agency name (created if new).")
def attach_creditor_command(code: str, agency: str):
    """Let an agency's partners see a creditor's accounts."""
    try:
        service.attach_creditor(code, agency)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"{code} attached to {agency}")
