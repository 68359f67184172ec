"""What a borrower (or a partner system) tells us about contact; each one transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from flask_babel import gettext as _

from portal.accounts.models import Account, Borrower
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact import rules, service
from portal.contact.models import ContactAttempt, ContactStatement
from portal.contact.rulebook import Purpose
from portal.contact.snapshot import CHANNELS, DIRECTIONS, OUTCOMES
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.operations import Refused, operation
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
    borrower = _borrower(borrower_id)
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
    if state == service.preferences_of(borrower.id):
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
    if not name.strip() or not contact.strip():
        raise Refused(_("Give the attorney's name and a phone number or email."))
    _told(_borrower(borrower_id), EventKind.ATTORNEY_REPORTED, actor,
          {"name": name.strip(), "contact": contact.strip()})


@operation
def report_bankruptcy(borrower_id: int, case_number: str | None, actor: Actor) -> None:
    _told(_borrower(borrower_id), EventKind.BANKRUPTCY_REPORTED, actor,
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


@operation
def record_attempt(account: Account, channel: str, destination: str | None, at: datetime,
                   outcome: str, actor: Actor, direction: str = "outbound",
                   with_consent: bool = False) -> ContactAttempt:
    """Record a contact that happened, as one transaction (a partner reporting it)."""
    return attempt_made(account, channel, destination, at, outcome, actor,
                        direction=direction, with_consent=with_consent)


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
    blocked = ([r.rule for r in rules.stopping(decision, purpose)]
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


@operation
def end_lapsed_holds(now: datetime | None = None) -> int:
    """Record the end of holds that lapsed by themselves (breathing space day 61); a job runs it."""
    now = now or datetime.now(UTC)
    actor = Actor.system("hold-expiry")
    borrowers = service.lapsed_borrowers(now)
    for borrower_id in borrowers:
        service.reconcile(_borrower(borrower_id), actor, now)
    return len(borrowers)
