"""What a borrower (or a partner system) tells us about contact; each one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import select, text

from portal.accounts.models import Account, Borrower, ContactPoint
from portal.agency import scope
from portal.bulk import draw_ids, insert_rows
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor, Pending, record, record_many
from portal.contact import consent, rules, service
from portal.contact.derive import CAPACITY_RULE, CONSENTED, DECEASED_RULE, INSOLVENCY_RULE
from portal.contact.models import ContactAttempt, ContactConsent, ContactStatement
from portal.contact.rulebook import N_, Purpose
from portal.contact.snapshot import CHANNELS, DIRECTIONS, OUTCOMES
from portal.crypto import RowValue, lookup_digest
from portal.extensions import db
from portal.operations import NotFound, Refused, operation
from portal.outbox.service import publish

PREFERENCE_CHANNELS = ("call", "sms", "email", "letter")
LANGUAGES = ("en", "es", "zh")


def _borrower(borrower_id: int) -> Borrower:
    return db.session.get(Borrower, borrower_id)


def _statement(borrower: Borrower, kind: EventKind, actor: Actor, data: dict | None = None):
    """Record what the borrower told us (borrower-wide) and bring holds in line, at once."""
    event = record(actor, kind, borrower_id=borrower.id, data=data or {})
    service.reconcile(borrower, actor)
    return event


def _told(borrower: Borrower, kind: EventKind, actor: Actor, details: dict,
          data: dict | None = None):
    """A statement in the borrower's own words: the words kept encrypted in a ContactStatement,
    the case event naming its row (the record holds no personal data)."""
    told = ContactStatement(borrower_id=borrower.id, kind=str(kind), details=json.dumps(details),
                            recorded_at=datetime.now(UTC))
    db.session.add(told)
    db.session.flush()
    return _statement(borrower, kind, actor, {"statement": told.id, **(data or {})})


@operation
def change_preferences(borrower_id: int, preferences: dict, language: str | None,
                       actor: Actor) -> None:
    preferences_changed(_borrower(borrower_id), preferences, language, actor)


def preferences_changed(borrower: Borrower, preferences: dict, language: str | None,
                        actor: Actor) -> None:
    """Record the borrower's preferences (a page, a partner, a STOP texted back), in the caller's
    transaction; nothing is recorded when nothing changes."""
    own_points = {p.id for p in borrower.contact_points}
    if not set(preferences.get("opted_out_points", [])) <= own_points:
        raise Refused(_("Choose from your own phone numbers and addresses."))
    if not set(preferences.get("opted_out_channels", [])) <= set(PREFERENCE_CHANNELS):
        raise Refused(_("Choose from the ways of contact listed."))
    if language is not None:
        if language not in LANGUAGES:
            raise Refused(_("Choose a language from the list."))
        borrower.preferred_language = language
    state = dict(preferences, language=borrower.preferred_language)
    said = {k: v for k, v in service.preferences_of(borrower.id).items() if k != CONSENTED}
    if state == said:  # the consents are given and withdrawn apart
        return
    event = _statement(borrower, EventKind.PREFERENCES_CHANGED, actor, {"preferences": state})
    for account in borrower.accounts:
        publish("preferences.changed", {"account_ref": account.reference, "preferences": state},
                account_ref=account.reference, case_event_id=event.id)


@operation
def request_cease(borrower_id: int, actor: Actor) -> None:
    _statement(_borrower(borrower_id), EventKind.CEASE_REQUESTED, actor)


@operation
def withdraw_cease(borrower_id: int, actor: Actor) -> None:
    _statement(_borrower(borrower_id), EventKind.CEASE_WITHDRAWN, actor)


@operation
def report_attorney(borrower_id: int, name: str, contact: str, actor: Actor) -> None:
    attorney_reported(_borrower(borrower_id), name, contact, actor)


def attorney_reported(borrower: Borrower, name: str, contact: str, actor: Actor) -> None:
    """An attorney represents the borrower (they said so, or gave an attorney access), in the
    caller's transaction: the statement, its event and the attorney hold."""
    if not name.strip() or not contact.strip():
        raise Refused(_("Give the attorney's name and a phone number or email."))
    _told(borrower, EventKind.ATTORNEY_REPORTED, actor,
          {"name": name.strip(), "contact": contact.strip()})


@operation
def report_bankruptcy(borrower_id: int, case_number: str | None, actor: Actor) -> None:
    bankruptcy_reported(_borrower(borrower_id), case_number, actor)


def bankruptcy_reported(borrower: Borrower, case_number: str | None, actor: Actor) -> None:
    """A bankruptcy we were told of (by the borrower, or a creditor's placement file), in the
    caller's transaction: its statement, its event and its hold."""
    _told(borrower, EventKind.BANKRUPTCY_REPORTED, actor,
          {"case_number": (case_number or "").strip() or None})


@operation
def report_breathing_space(borrower_id: int, kind: str, start: date, reference: str | None,
                           actor: Actor) -> None:
    if kind not in ("standard", "mental_health"):
        raise Refused(_("Choose the kind of breathing space."))
    today = datetime.now(UTC).date()
    if start > today:
        raise Refused(_("The start date cannot be in the future."))
    # The kind (a mental-health crisis or not) is health data: with the reference, encrypted;
    # the start date, which the hold's end is counted from, stays in the record.
    _told(_borrower(borrower_id), EventKind.BREATHING_SPACE_REPORTED, actor,
          {"kind": kind, "reference": (reference or "").strip() or None},
          {"start": start.isoformat()})


# --- consent to contact outside the usual hours -------------------------------------------------

CONSENT_PROBLEMS = {  # marked for the catalog, translated where raised
    "channel": N_("Choose calls, texts or emails."),
    "times": N_("Give the times as hours and minutes, like 07:00."),
    "empty": N_("The start and end times must differ."),
    "days": N_("Choose which days the times are for."),
}


def consent_given(borrower: Borrower, channel: str, start: time | None, end: time | None,
                  days: str, statement: str | None, actor: Actor) -> ContactConsent:
    """Record a direct prior consent (the row, its case event, the rules' preferences), in the
    caller's transaction. Staff give what the borrower said; it is kept encrypted, never in the
    event."""
    problem = consent.window_problem(channel, start, end, days)
    if problem is not None:
        raise Refused(_(CONSENT_PROBLEMS[problem]))
    statement = (statement or "").strip() or None
    if actor.type == "staff" and not statement:
        raise Refused(_("Write down what the borrower said when they agreed."))
    if statement and len(statement) > STATEMENT_MAX:
        raise Refused(_("Please keep it under %(n)d characters.", n=STATEMENT_MAX))
    window = consent.stored(channel, start, end, days)
    # The event names the consent, so its number comes first.
    consent_id = db.session.scalar(text("SELECT nextval('contact_consent_id_seq')"))
    taken_by = int(actor.id) if actor.type == "staff" and actor.id else None
    event = record(actor, EventKind.CONSENT_GIVEN, borrower_id=borrower.id,
                   data={"consent": consent_id, **window, "source": actor.type,
                         "taken_by": taken_by})
    row = ContactConsent(
        id=consent_id, borrower_id=borrower.id, channel=channel, start=start, end=end,
        days=window["days"], source="staff" if actor.type == "staff" else "borrower",
        taken_by=taken_by, statement=statement, given_at=event.occurred_at,
        given_by_event_id=event.id)
    db.session.add(row)
    service.reconcile(borrower, actor)
    return row


def consent_withdrawn(borrower: Borrower, consent_id: int, actor: Actor) -> None:
    """End a consent at once (the borrower's own, in force), in the caller's transaction."""
    row = db.session.get(ContactConsent, consent_id, with_for_update=True)
    if row is None or row.borrower_id != borrower.id or row.withdrawn_at is not None:
        raise Refused(_("That consent is not in force."), status=409)
    event = record(actor, EventKind.CONSENT_WITHDRAWN, borrower_id=borrower.id,
                   data={"consent": row.id})
    row.withdrawn_at, row.withdrawn_by_event_id = event.occurred_at, event.id
    service.reconcile(borrower, actor)


def point_confirmed(borrower: Borrower, point_id: int, actor: Actor) -> None:
    """The borrower confirmed an address or number marked undeliverable (to staff, or in the
    portal): the mark is cleared and messages may go to it again, in the caller's transaction."""
    point = db.session.get(ContactPoint, point_id, with_for_update=True)
    if point is None or point.borrower_id != borrower.id or point.undeliverable_at is None:
        raise Refused(_("That contact point is not marked undeliverable."), status=409)
    record(actor, EventKind.CONTACT_POINT_CONFIRMED, borrower_id=borrower.id,
           data={"point": point.id, "kind": point.kind,
                 "marked_at": point.undeliverable_at.isoformat()})
    point.undeliverable_at = None
    point.undeliverable_reason = None


def consents_of(borrower_id: int) -> list[ContactConsent]:
    """The borrower's consents in force, oldest first."""
    return list(db.session.scalars(
        select(ContactConsent).where(ContactConsent.borrower_id == borrower_id,
                                     ContactConsent.withdrawn_at.is_(None))
        .order_by(ContactConsent.id)))


@operation
def give_consent(borrower_id: int, channel: str, start: time | None, end: time | None,
                 days: str, actor: Actor) -> None:
    consent_given(_borrower(borrower_id), channel, start, end, days, None, actor)


@operation
def withdraw_consent(borrower_id: int, consent_id: int, actor: Actor) -> None:
    consent_withdrawn(_borrower(borrower_id), consent_id, actor)


# --- holds staff record ---------------------------------------------------------------------

#: What staff may record: (the event that starts the hold, its rule by jurisdiction, its key).
STAFF_HOLDS = {
    "deceased": (EventKind.DECEASED_REPORTED, DECEASED_RULE, "deceased"),
    "mental_capacity": (EventKind.CAPACITY_DOUBTED, CAPACITY_RULE, "mental-capacity"),
    "insolvency": (EventKind.INSOLVENCY_REPORTED, INSOLVENCY_RULE, "insolvency"),
}
#: What lifts each, where the rule allows it to be lifted (a death is not).
STAFF_LIFTS = {
    "mental_capacity": EventKind.CAPACITY_ESTABLISHED,
    "insolvency": EventKind.INSOLVENCY_ENDED,
}
INSOLVENCY_KINDS = ("bankruptcy", "dro", "iva")
INSOLVENCY_ENDINGS = ("discharged", "revoked", "failed")
STATEMENT_MAX = 1000


def _live(borrower_id: int, key: str):
    return next((h for h in service.live_holds(borrower_id, None)
                 if h.key == key and h.account_id is None), None)


def hold_recorded(borrower: Borrower, hold: str, kind: str | None, actor: Actor) -> None:
    """Staff record a fact that pauses contact by law (a death, a doubt about capacity, an
    insolvency): its case event and its hold, in the caller's transaction."""
    if hold not in STAFF_HOLDS:
        raise Refused(_("Choose what to record from the list."))
    event_kind, by_country, key = STAFF_HOLDS[hold]
    country, _region = service.jurisdiction_of(borrower)
    if country not in by_country:
        raise Refused(_("This does not apply to a borrower in this country."))
    if _live(borrower.id, key) is not None:
        raise Refused(_("This is already recorded."), status=409)
    data = {}
    if hold == "insolvency":
        if kind not in INSOLVENCY_KINDS:
            raise Refused(_("Choose the kind of insolvency."))
        data["kind"] = kind
    record(actor, event_kind, borrower_id=borrower.id, data=data)
    service.reconcile(borrower, actor)


def hold_lifted(borrower: Borrower, hold: str, how: str | None, actor: Actor) -> None:
    """Staff record what lifts a hold they recorded, where its rule allows (capacity
    established; an insolvency discharged, revoked or failed)."""
    if hold not in STAFF_LIFTS:
        raise Refused(_("This cannot be lifted."))
    if _live(borrower.id, STAFF_HOLDS[hold][2]) is None:
        raise Refused(_("This is not recorded, so there is nothing to lift."), status=409)
    data = {}
    if hold == "insolvency":
        if how not in INSOLVENCY_ENDINGS:
            raise Refused(_("Choose how the insolvency ended."))
        data["how"] = how
    record(actor, STAFF_LIFTS[hold], borrower_id=borrower.id, data=data)
    service.reconcile(borrower, actor)


def crisis_treatment_ended(borrower: Borrower, ended_on: date | None, actor: Actor) -> None:
    """Staff record notice that crisis treatment ended: the crisis breathing space ends 30 days
    after that day (Debt Respite Scheme Regulations 2020), in the caller's transaction."""
    current = _live(borrower.id, "breathing-space")
    if current is None or current.rule != "uk.mental-health-crisis" or current.until is not None:
        raise Refused(_("There is no mental health crisis breathing space without an end to "
                        "record this against."), status=409)
    if ended_on is None:
        raise Refused(_("Give the date treatment ended."))
    reported = db.session.get(CaseEvent, current.started_by_event_id).data.get("start")
    began = date.fromisoformat(reported) if reported else current.started_at.date()
    if ended_on > datetime.now(UTC).date() or ended_on < began:
        raise Refused(_("The date must be on or after the breathing space started, and not in "
                        "the future."))
    record(actor, EventKind.CRISIS_TREATMENT_ENDED, borrower_id=borrower.id,
           data={"ended_on": ended_on.isoformat()})
    service.reconcile(borrower, actor)


@operation
def record_attempt(account: Account, channel: str, destination: str | None, at: datetime,
                   outcome: str, actor: Actor,
                   purpose: Purpose = Purpose.COLLECTION, direction: str = "outbound",
                   with_consent: bool = False) -> ContactAttempt:
    """Record a contact that happened, as one transaction (a partner reporting it)."""
    return attempt_made(account, channel, destination, at, outcome, actor, purpose,
                        direction=direction, with_consent=with_consent)


@dataclass(frozen=True)
class Made:
    """One outbound contact for `attempts_made`, with the decision the rules gave at its time."""

    account: Account
    channel: str
    destination: str | None
    at: datetime
    outcome: str
    purpose: Purpose
    decision: rules.Decision


def attempt_made(account: Account, channel: str, destination: str | None, at: datetime,
                 outcome: str, actor: Actor,
                 purpose: Purpose = Purpose.COLLECTION, direction: str = "outbound",
                 with_consent: bool = False) -> ContactAttempt:
    """Record a contact that happened, in the caller's transaction (the portal's own messages
    are recorded with what they are about); flag it for compliance review if the rules forbade
    it for its purpose (a partner's contact is collection)."""
    if channel not in CHANNELS:
        raise Refused(f"unknown channel {channel!r}")
    if outcome not in OUTCOMES:
        raise Refused(f"unknown outcome {outcome!r}")
    if direction not in DIRECTIONS:
        raise Refused(f"unknown direction {direction!r}")
    decision = service.decide(account, channel, destination, at)
    # The borrower's own call is no contact of ours: nothing to flag.
    blocked = ([r.rule for r in rules.stopping(decision, purpose, channel)]
               if direction == "outbound" else [])
    attempt = ContactAttempt(
        account_id=account.id, channel=channel, destination=destination,
        destination_digest=lookup_digest(destination, "contact_attempt.destination")
        if destination else None,
        at=at, outcome=outcome, direction=direction, with_consent=with_consent,
        reported_by=actor.id or actor.type,
        violation=bool(blocked), violated_rules=blocked, recorded_at=datetime.now(UTC),
    )
    db.session.add(attempt)
    db.session.flush()
    record(actor, EventKind.ATTEMPT_RECORDED, borrower_id=account.borrower_id,
           account_id=account.id,
           data={"attempt": attempt.id, "channel": channel, "outcome": outcome,
                 "direction": direction, "with_consent": with_consent,
                 "at": at.isoformat(), "violation": bool(blocked), "rules": blocked})
    return attempt


def attempts_made(made: list[Made], actor: Actor) -> list[int]:
    """`attempt_made` for many outbound contacts at once (an import's first letters), each with
    the rules' decision it was judged by: the same rows and events, in a few statements; the
    attempts' ids, in order."""
    for m in made:
        if m.channel not in CHANNELS:
            raise Refused(f"unknown channel {m.channel!r}")
        if m.outcome not in OUTCOMES:
            raise Refused(f"unknown outcome {m.outcome!r}")
    ids = draw_ids("contact_attempt", len(made))
    now = datetime.now(UTC)
    blocked = [[r.rule for r in rules.stopping(m.decision, m.purpose, m.channel)] for m in made]
    insert_rows(ContactAttempt.__table__, [{
        "id": aid, "account_id": m.account.id, "channel": m.channel,
        "destination": RowValue(m.destination, aid) if m.destination else None,
        "destination_digest": lookup_digest(m.destination, "contact_attempt.destination")
        if m.destination else None,
        "at": m.at, "outcome": m.outcome, "direction": "outbound", "with_consent": False,
        "reported_by": actor.id or actor.type, "violation": bool(rules_),
        "violated_rules": rules_, "recorded_at": now,
    } for aid, m, rules_ in zip(ids, made, blocked, strict=True)])
    record_many(actor, [
        Pending(EventKind.ATTEMPT_RECORDED, m.account.borrower_id, m.account.id,
                {"attempt": aid, "channel": m.channel, "outcome": m.outcome,
                 "direction": "outbound", "with_consent": False, "at": m.at.isoformat(),
                 "violation": bool(rules_), "rules": rules_})
        for aid, m, rules_ in zip(ids, made, blocked, strict=True)])
    return ids


@operation
def end_lapsed_holds(now: datetime | None = None) -> int:
    """Record the end of holds that lapsed by themselves (breathing space day 61); a job runs it."""
    now = now or datetime.now(UTC)
    actor = Actor.system("hold-expiry")
    borrowers = service.lapsed_borrowers(now)
    for borrower_id in borrowers:
        service.reconcile(_borrower(borrower_id), actor, now)
    return len(borrowers)


# --- staff, from a case's page (each one transaction, on the case's borrower) ---------------


def _borrower_of(agency_id: int, reference: str) -> Borrower:
    """The case's borrower, when the account is the staff member's agency's (else not found)."""
    account = db.session.scalar(select(Account).where(
        Account.reference == reference, scope.within(agency_id, Account.id)))
    if account is None:
        raise NotFound()
    return account.borrower


@operation
def record_hold_on_case(agency_id: int, reference: str, hold: str, kind: str | None,
                        actor: Actor) -> None:
    hold_recorded(_borrower_of(agency_id, reference), hold, kind, actor)


@operation
def lift_hold_on_case(agency_id: int, reference: str, hold: str, how: str | None,
                      actor: Actor) -> None:
    hold_lifted(_borrower_of(agency_id, reference), hold, how, actor)


@operation
def crisis_treatment_ended_on_case(agency_id: int, reference: str, ended_on: date | None,
                                   actor: Actor) -> None:
    crisis_treatment_ended(_borrower_of(agency_id, reference), ended_on, actor)


@operation
def take_consent_on_case(agency_id: int, reference: str, channel: str, start: time | None,
                         end: time | None, days: str, statement: str, actor: Actor) -> None:
    consent_given(_borrower_of(agency_id, reference), channel, start, end, days, statement,
                  actor)


@operation
def confirm_point_on_case(agency_id: int, reference: str, point_id: int, actor: Actor) -> None:
    point_confirmed(_borrower_of(agency_id, reference), point_id, actor)


@operation
def withdraw_consent_on_case(agency_id: int, reference: str, consent_id: int, actor: Actor) -> None:
    consent_withdrawn(_borrower_of(agency_id, reference), consent_id, actor)
