"""The API's requests and answers as pydantic models: the same models validate what partners send
and generate the OpenAPI document, so the document cannot drift from what is enforced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError

from portal.accounts.zones import normalise_phone
from portal.api.problems import CODES, PROBLEM_JSON
from portal.contact import rules
from portal.contact.rulebook import PARTNER_PURPOSES, Purpose
from portal.contact.snapshot import CHANNELS, DIRECTIONS, OUTCOMES

#: The channels of CONTRACT.md (the engine also knows `third_party`, which is not offered here).
API_CHANNELS = ("call", "sms", "email", "letter", "visit")
assert set(API_CHANNELS) <= set(CHANNELS)
#: Channels whose destination is a phone number or an email address, and so must be given.
PHONE_CHANNELS = frozenset({"call", "sms"})
ADDRESSED_CHANNELS = PHONE_CHANNELS | {"email"}
MAX_BULK_ITEMS = 10_000
#: CSV header of a bulk upload, and of the answer's rows.
CSV_COLUMNS = ("account_ref", "channel", "destination", "at")
CSV_ANSWER_COLUMNS = ("line", *CSV_COLUMNS, "allowed", "next_allowed_at", "blocked_by",
                      "limited_by", "error_code", "error")
#: Instants outside this range are refused: nobody dials in 1900, and the rules' arithmetic
#: (next window, next day) must never run off the calendar.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
#: How far ahead of our clock a reported attempt may be (clock skew), before it is refused.
ATTEMPT_CLOCK_SKEW = timedelta(minutes=5)
Channel = Literal[API_CHANNELS]
PartnerPurpose = Literal[PARTNER_PURPOSES]
Outcome = Literal[OUTCOMES]
Direction = Literal[DIRECTIONS]


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "must not contain a NUL character")
    return text


def _iso_instant(value: Any) -> Any:
    """Only an ISO 8601 string is an instant here (pydantic alone also takes Unix numbers)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("iso_datetime", "must be an ISO 8601 date and time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError(
            "iso_datetime",
            "must be an ISO 8601 date and time with a UTC offset, e.g. 2026-03-02T08:30:00-05:00",
        ) from None
    if parsed.tzinfo is None:
        raise PydanticCustomError(
            "timezone_required",
            "must carry a UTC offset (e.g. -05:00 or Z): a time without one is ambiguous",
        )
    return parsed


def _in_range(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise PydanticCustomError("datetime_range", "must be between 1970 and 2100")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: An instant in an answer: always UTC (written with Z), whatever zone the rules reasoned in.
UtcInstant = Annotated[AwareDatetime, AfterValidator(_utc)]
Ref = Annotated[str, Field(min_length=1, max_length=64, description="The agency's account "
                           "reference, e.g. NWB-1001."), AfterValidator(_no_nul)]
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_instant), AfterValidator(_in_range)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DecisionRequest(_Strict):
    """May we contact the borrower of this account on this channel, at this destination, then?"""

    account_ref: Ref
    channel: Channel = Field(description="How the contact would be made.")
    destination: Annotated[str, Field(max_length=320), AfterValidator(_no_nul)] | None = Field(
        default=None, validate_default=True,
        description="For call and sms a phone number in international format (+1 212 555 0100; "
                    "answers use E.164); for email an address. Ignored for letter and visit "
                    "(the mailing address on file is meant).",
    )
    at: Instant | None = Field(
        default=None,
        description="ISO 8601 date and time with a UTC offset; default: when the request "
                    "arrives.",
    )
    purpose: PartnerPurpose = Field(
        default=Purpose.COLLECTION,
        description="What the communication is for. After a cease request (12 CFR 1006.6(c)(2)) "
                    "a letter or email whose purpose is `efforts_ending` (efforts are being "
                    "terminated), `remedy` (a specified remedy may or will be invoked) or "
                    "`required_notice` (a notice the law requires) is allowed; every other rule "
                    "treats them as collection.",
    )

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str | None, info: ValidationInfo) -> str | None:
        channel = info.data.get("channel")
        if channel is None:  # the channel itself is invalid; that error says enough
            return value
        if channel not in ADDRESSED_CHANNELS:
            return None
        if not value:
            raise PydanticCustomError("destination_required", "is required for {channel}",
                                      {"channel": channel})
        if channel in PHONE_CHANNELS:
            try:
                return normalise_phone(value)
            except (ValueError, phonenumbers.NumberParseException):
                raise PydanticCustomError(
                    "phone_number",
                    "is not a valid phone number in international format (+country code)",
                ) from None
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise PydanticCustomError("email", "is not a valid email address") from None


class AttemptRequest(DecisionRequest):
    """A contact attempt that happened: recorded always, and flagged if the rules forbade it."""

    outcome: Outcome = Field(description="What came of the attempt. busy and not_in_service "
                             "mean the call never connected to the dialed number: it does not "
                             "count toward the 7 calls in 7 days (12 CFR 1006.14(b)(3)).")
    direction: Direction = Field(
        default="outbound",
        description="outbound: we contacted the borrower (the default, as before this field); "
                    "inbound: the borrower called us. An inbound conversation starts the 7 days "
                    "without calls like an outbound one; inbound calls never count toward the "
                    "7 in 7 and are never flagged.")
    with_consent: bool = Field(
        default=False,
        description="The call was made with the borrower's prior consent, given directly "
                    "within the last 7 days: it does not count toward the 7 in 7 "
                    "(12 CFR 1006.14(b)(3)(i)).")

    @field_validator("at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + ATTEMPT_CLOCK_SKEW:
            raise PydanticCustomError("future", "must not be in the future")
        return value


class BulkDecisionRequest(RootModel[Annotated[list[DecisionRequest],
                                              Field(max_length=MAX_BULK_ITEMS)]]):
    """Many decisions at once; each item is validated on its own, so one bad item fails alone."""


# --- answers -------------------------------------------------------------------------------------


class Reason(BaseModel):
    rule: str = Field(description="Stable rule id, e.g. us.inconvenient-hours.")
    citation: str = Field(description="The law or policy the rule comes from.")
    message: str = Field(description="What the rule means, for the agent.")
    effect: Literal["block", "limit"] = Field(
        description="block: contact not allowed; limit: allowed, with care (e.g. no threat).")
    until: UtcInstant | None = Field(description="When this rule stops applying, if known.")


class Decision(BaseModel):
    allowed: bool
    reasons: list[Reason]
    next_allowed_at: UtcInstant | None = Field(
        description="The earliest instant contact on this channel would be allowed, when waiting "
                    "lifts every block; null when a person must act first (or when allowed).")
    at: UtcInstant = Field(description="The instant decided for.")

    @classmethod
    def of(cls, decision: rules.Decision, at: datetime) -> Decision:
        return cls(
            allowed=decision.allowed,
            reasons=[Reason(rule=r.rule, citation=r.citation, message=r.agent_text,
                            effect=r.effect, until=r.until) for r in decision.reasons],
            next_allowed_at=decision.next_allowed_at,
            at=at,
        )


class Attempt(BaseModel):
    id: int
    violation: bool = Field(description="True when the rules would have blocked this attempt: "
                                        "it is flagged for compliance review.")
    rules: list[str] = Field(description="The rules that would have blocked it.")


class Balance(BaseModel):
    minor: int = Field(description="Integer minor units (cents).")
    currency: str = Field(description="ISO 4217 code.")
    formatted: str = Field(description="Decimal string in the major unit, e.g. 2480.19.")


class Hold(BaseModel):
    rule: str
    since: UtcInstant
    until: UtcInstant | None = Field(description="When it lapses by itself; null: until lifted.")
    channels: list[str] | None = Field(description="Channels paused; null: every channel.")


class TimeWindow(BaseModel):
    start: str = Field(description="Local time HH:MM.")
    end: str = Field(description="Local time HH:MM.")
    channels: list[str] | None


class Preferences(BaseModel):
    language: str
    opted_out_channels: list[str]
    opted_out_destinations: list[str] = Field(
        description="Phone numbers (E.164) and email addresses the borrower opted out of.")
    inconvenient: list[TimeWindow] = Field(
        description="Times the borrower named as inconvenient, in their local time.")
    workplace_prohibited: bool


class Account(BaseModel):
    account_ref: str = Field(description="The agency's reference, whichever id was asked for.")
    status: Literal["open", "paid", "closed", "recalled"] = Field(
        description="recalled: the creditor took the account back; collection contact is "
                    "blocked (rule creditor.recalled).")
    currency: str
    balance: Balance
    holds: list[Hold] = Field(description="Holds on contact in force now.")
    preferences: Preferences


class RemittanceLine(BaseModel):
    account_ref: str
    currency: str
    collected_minor: int = Field(description="Card payments first remitted on this statement.")
    refunded_minor: int = Field(description="Refunds accounted here (a refund of money remitted "
                                            "on an earlier statement is a deduction here).")
    charged_back_minor: int
    commission_minor: int = Field(description="Rounded half-even once per account line.")
    direct_minor: int = Field(description="Payments made to the lender directly, reported.")
    direct_commission_minor: int
    remitted_minor: int = Field(description="What the agency remits for this line (negative: "
                                            "owed by the creditor).")


class RemittanceTotals(BaseModel):
    currency: str
    collected_minor: int
    refunded_minor: int
    charged_back_minor: int
    commission_minor: int
    direct_minor: int
    direct_commission_minor: int
    due_minor: int = Field(description="What the agency remits in this currency (negative: "
                                       "owed by the creditor).")
    invoiced_minor: int = Field(description="Commission the agency invoices.")


class Remittance(BaseModel):
    statement_id: int
    creditor: str = Field(description="The creditor's code.")
    period: str = Field(description="YYYY-MM, a UTC month.")
    method: Literal["net", "gross", "combined"]
    closed_at: UtcInstant
    totals: list[RemittanceTotals]
    lines: list[RemittanceLine]


class Remittances(BaseModel):
    remittances: list[Remittance] = Field(description="Closed statements, newest period first.")


class DirectPaymentRequest(_Strict):
    account_ref: Ref
    amount: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[0-9]+(\.[0-9]+)?$",
                                 description="Decimal string in the account's currency's major "
                                             "unit, e.g. 125.00.")]
    paid_on: date = Field(description="The day the borrower paid the lender (not in the future, "
                                      "not before placement).")
    reference: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="The lender's own id of the payment: the same id twice on one "
                                  "account is refused (409), so a retry never reports it twice.")


class DirectPaymentAnswer(BaseModel):
    id: int
    account_ref: str
    amount_minor: int
    currency: str
    paid_on: date


class FieldError(BaseModel):
    pointer: str = Field(description="JSON pointer into the request body, e.g. #/channel.")
    field: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": True})

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code: " + ", ".join(CODES) + ".")
    errors: list[FieldError] | None = Field(default=None,
                                            description="Per field, for invalid_request.")


class BulkDecisionAnswer(RootModel[list[Decision | Problem]]):
    """In request order: for each item, exactly what the single endpoint would have answered."""


# --- OpenAPI 3.1 ---------------------------------------------------------------------------------

REQUESTS = (DecisionRequest, AttemptRequest, BulkDecisionRequest, DirectPaymentRequest)
ANSWERS = (Decision, Attempt, Account, Problem, BulkDecisionAnswer, Remittances,
           DirectPaymentAnswer)
REF = "#/components/schemas/{model}"


def _json(name: str) -> dict:
    return {"application/json": {"schema": {"$ref": REF.format(model=name)}}}


def _problems(*statuses: int) -> dict:
    described = {400: "Request not understood (a body, or a path or query value that is not "
                      "text, such as a NUL character).",
                 401: "Missing, unknown or revoked API key.",
                 403: "This key may not do this (a lender's key outside remittances and "
                      "direct payments; an agency's key on a lender's path).",
                 404: "No such account for this key's agency.",
                 409: "Two or more of the agency's creditors use this id (code "
                      "ambiguous_account; `matches` lists them): ask with ?creditor=CODE. "
                      "On /direct-payments: that reference is reported already (code refused).",
                 413: "Body too large.",
                 415: "Wrong Content-Type.",
                 422: "Invalid fields (see errors), or no rule pack in force at the instant "
                      "(code no_rule_pack).",
                 429: "Rate limit of this API key reached."}
    return {
        str(s): {"description": described[s],
                 "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}}}
        for s in statuses
    }


CSV_DESCRIPTION = (
    "Header `account_ref,channel,destination,at` (any order; extra columns ignored; a missing "
    "column is a 400 before any row). Any size: rows are read and answered as a stream, in "
    "order, as CSV with the columns " + ",".join(CSV_ANSWER_COLUMNS) + ". `line` is the input "
    "line number; a bad row gets error_code and error and the other rows are still answered. "
    "A complete answer ends with a row whose `line` is `end`; if the answer stops early, its "
    "last row has `line` `abort` (or is missing): never take an answer without `end` as whole. "
    "An echoed cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a "
    "carriage return) comes back with a leading single quote; a plain number such as a phone "
    "number (digits, spaces and + - ( ) . only) comes back exactly as sent. Match rows by `line`."
)


ACCOUNT_LOOKUP = (
    "account_ref is first read as the agency's reference. If no account has it, it is read as "
    "the creditor's own account id, among the creditors of the key's agency only. When two of "
    "those creditors use the same id, the answer is 409 `ambiguous_account`, whose `matches` "
    "name each account (account_ref, creditor): ask again with `?creditor=CODE` (or by the "
    "agency's reference). With `?creditor=CODE`, account_ref is read as that creditor's id only.")


def openapi_document() -> dict:
    _, top = models_json_schema(
        [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in ANSWERS],
        ref_template=REF,
    )
    schemas = top["$defs"]
    security = [{"apiKey": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Borrower portal partner API",
            "version": "1.0.0",
            "description": "For dialers, SMS platforms and CRMs: may this borrower be contacted "
                           "now, on this channel? Errors are RFC 9457 problem details "
                           f"({PROBLEM_JSON}) with a stable `code`.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": security,
        "paths": {
            "/accounts/{account_ref}": {"get": {
                "operationId": "getAccount",
                "summary": "Status, balance, holds in force and contact preferences.",
                "description": ACCOUNT_LOOKUP,
                "parameters": [
                    {"name": "account_ref", "in": "path", "required": True,
                     "description": "The agency's reference, or the creditor's own account id.",
                     "schema": {"type": "string"}},
                    {"name": "creditor", "in": "query", "required": False,
                     "description": "A creditor's code: read account_ref as that creditor's "
                                    "own account id only.",
                     "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The account.", "content": _json("Account")},
                              **_problems(400, 401, 404, 409, 429)},
            }},
            "/contact-decisions": {"post": {
                "operationId": "decideContact",
                "summary": "May we contact this borrower now, on this channel?",
                "requestBody": {"required": True, "content": _json("DecisionRequest")},
                "responses": {"200": {"description": "The decision, with every reason.",
                                      "content": _json("Decision")},
                              **_problems(400, 401, 404, 413, 415, 422, 429)},
            }},
            "/contact-decisions/bulk": {"post": {
                "operationId": "decideContactBulk",
                "summary": f"Many decisions: a JSON array (up to {MAX_BULK_ITEMS}) or a CSV of "
                           "any size, streamed.",
                "requestBody": {"required": True, "content": {
                    **_json("BulkDecisionRequest"),
                    "text/csv": {"schema": {"type": "string", "description": CSV_DESCRIPTION}},
                }},
                "responses": {
                    "200": {"description": "One answer per item, in order.", "content": {
                        **_json("BulkDecisionAnswer"),
                        "text/csv": {"schema": {"type": "string",
                                                "description": CSV_DESCRIPTION}},
                    }},
                    **_problems(400, 401, 413, 415, 422, 429),
                },
            }},
            "/contact-attempts": {"post": {
                "operationId": "recordAttempt",
                "summary": "Record an attempt that happened; flagged when the rules forbade it.",
                "requestBody": {"required": True, "content": _json("AttemptRequest")},
                "responses": {"201": {"description": "Recorded.", "content": _json("Attempt")},
                              **_problems(400, 401, 404, 413, 415, 422, 429)},
            }},
            "/remittances": {"get": {
                "operationId": "listRemittances",
                "summary": "A lender's closed remittance statements, with totals and lines.",
                "description": "For a lender user's own key only (any other key: 403 "
                               "`forbidden`): the statements of that lender's creditors. A "
                               "closed statement never changes; later refunds and chargebacks "
                               "are deductions on the next one. Announced by the "
                               "`remittance.closed` webhook.",
                "parameters": [{"name": "period", "in": "query", "required": False,
                                "description": "Only this period (YYYY-MM).",
                                "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}],
                "responses": {"200": {"description": "The statements.",
                                      "content": _json("Remittances")},
                              **_problems(401, 403, 422, 429)},
            }},
            "/direct-payments": {"post": {
                "operationId": "reportDirectPayment",
                "summary": "Report a payment a borrower made to the lender directly.",
                "description": "For a lender user's own key only. The account's balance drops at "
                               "once (a ledger entry); the agency's commission on it goes on the "
                               "next statement, withheld (net) or invoiced (gross, combined).",
                "requestBody": {"required": True, "content": _json("DirectPaymentRequest")},
                "responses": {"201": {"description": "Recorded.",
                                      "content": _json("DirectPaymentAnswer")},
                              **_problems(400, 401, 403, 404, 409, 415, 422, 429)},
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1.",
                                      "content": {"application/json": {}}}},
            }},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer",
                "description": "A partner API key: Authorization: Bearer <key>. Keys are scoped "
                               "to one agency's accounts and rate-limited per key.",
            }},
        },
    }
