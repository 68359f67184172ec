"""Contact: what the borrower tells us, holds kept in step, decisions for one account."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from portal.accounts import postal
from portal.accounts.models import Account, Borrower, ContactKind
from portal.accounts.validation import period_end
from portal.accounts.zones import jurisdiction
from portal.agency.models import Agency
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor, record
from portal.contact import rules
from portal.contact.derive import Fact, derive
from portal.contact.models import (
    ContactAttempt,
    ContactHold,
    ContactPreferences,
    ContactStatement,
)
from portal.contact.rulebook import Purpose
from portal.contact.snapshot import (
    Attempt,
    ContactPointInfo,
    Hold,
    Snapshot,
    stored_preferences,
)
from portal.extensions import db
from portal.outbox.service import publish

ATTEMPT_LOOKBACK = timedelta(days=31)
#: The outcome of a queued message's attempt when the message was never sent: no contact, so
#: no rule counts it (the bulk path's SQL leaves it out too).
CANCELLED = "cancelled"


def jurisdiction_of(borrower: Borrower) -> tuple[str, str | None]:
    return jurisdiction(borrower.mailing_address)


def _facts(borrower_id: int) -> list[Fact]:
    rows = db.session.execute(
        select(CaseEvent.id, CaseEvent.kind, CaseEvent.occurred_at, CaseEvent.account_id,
               CaseEvent.data)
        .where(CaseEvent.borrower_id == borrower_id)
        .order_by(CaseEvent.occurred_at, CaseEvent.id)
    )
    rows = list(rows)
    told = statements(rows)
    # A statement's own words (a breathing space's kind) are read from its encrypted row; events
    # written before they moved there carry them inline.
    return [Fact(r.id, r.kind, r.occurred_at, r.account_id, {**told.get(r.id, {}), **r.data})
            for r in rows]


def statements(events) -> dict[int, dict]:
    """What the borrower said in each statement event (attorney, bankruptcy, breathing space),
    by event id, decrypted from the ContactStatement row the event names."""
    named = {e.data["statement"]: e.id for e in events
             if isinstance(e.data, dict) and isinstance(e.data.get("statement"), int)}
    if not named:
        return {}
    rows = db.session.scalars(select(ContactStatement).where(ContactStatement.id.in_(named)))
    return {named[row.id]: json.loads(row.details) for row in rows}


def _accounts_in_scope(borrower: Borrower, account_id: int | None) -> list[Account]:
    return [a for a in borrower.accounts if account_id is None or a.id == account_id]


def _announce(borrower: Borrower, hold: ContactHold, topic: str, event: CaseEvent) -> None:
    for account in _accounts_in_scope(borrower, hold.account_id):
        publish(topic, {
            "account_ref": account.reference,
            "rule": hold.rule,
            "channels": hold.channels,
            "since": hold.started_at.isoformat(),
            "until": hold.until.isoformat() if hold.until else None,
            "ended_at": hold.ended_at.isoformat() if hold.ended_at else None,
        }, account_ref=account.reference, case_event_id=event.id)


def reconcile(borrower: Borrower, actor: Actor, now: datetime | None = None) -> None:
    """Bring the stored holds and preferences in line with what the case record implies."""
    now = now or datetime.now(UTC)
    country, _region = jurisdiction_of(borrower)
    facts = _facts(borrower.id)
    derived = derive(facts, country)
    live_rows = {
        (h.key, h.account_id, h.started_by_event_id): h
        for h in db.session.scalars(
            select(ContactHold).where(ContactHold.borrower_id == borrower.id,
                                      ContactHold.ended_at.is_(None))
        )
    }
    for hold in derived.holds:
        slot = (hold.key, hold.account_id, hold.started_by)
        row = live_rows.pop(slot, None)
        if hold.live(now) and row is None:
            row = ContactHold(
                borrower_id=borrower.id, account_id=hold.account_id, rule=hold.rule,
                channels=sorted(hold.channels) if hold.channels else None,
                started_at=hold.started_at, until=hold.until, started_by_event_id=hold.started_by,
                key=hold.key,
            )
            db.session.add(row)
            event = record(actor, EventKind.HOLD_STARTED, borrower_id=borrower.id,
                           account_id=hold.account_id,
                           data={"rule": hold.rule, "key": hold.key,
                                 "until": hold.until.isoformat() if hold.until else None})
            _announce(borrower, row, "contact.hold.started", event)
        elif not hold.live(now) and row is not None:
            _end(borrower, row, hold.ended_at or hold.until or now, hold.ended_by, actor)
    known = {f.id for f in facts}
    for row in live_rows.values():  # stored but no longer implied at all
        if row.started_by_event_id not in known:
            # Started by an event committed after we read the record (a concurrent action):
            # its own transaction reconciles it; ending it here would undo it.
            continue
        _end(borrower, row, now, None, actor)
    _store_preferences(borrower.id, derived.preferences, now)


def _end(borrower: Borrower, row: ContactHold, at: datetime, cause: int | None,
         actor: Actor) -> None:
    event = record(actor, EventKind.HOLD_ENDED, borrower_id=borrower.id,
                   account_id=row.account_id, data={"rule": row.rule, "key": row.key})
    row.ended_at = at
    row.ended_by_event_id = cause or event.id
    _announce(borrower, row, "contact.hold.ended", event)


def _store_preferences(borrower_id: int, preferences: dict, now: datetime) -> None:
    row = db.session.get(ContactPreferences, borrower_id)
    if row is None:
        db.session.add(ContactPreferences(borrower_id=borrower_id, data=preferences,
                                          updated_at=now))
    elif row.data != preferences:
        row.data, row.updated_at = preferences, now


# --- reading: snapshots and decisions ------------------------------------------------------------


def snapshot(account: Account, at: datetime) -> Snapshot:
    """Everything the rules need about one account, as it stood at `at`."""
    return snapshots([account], at)[account.id]


def _in_force(at: datetime):
    return (ContactHold.started_at <= at,
            or_(ContactHold.ended_at.is_(None), ContactHold.ended_at > at))


def snapshots(accounts: list[Account], at: datetime,
              leaving_out: frozenset[int] = frozenset()) -> dict[int, Snapshot]:
    """Each account's snapshot at `at`, read in one query per kind of fact for them all (the
    worker judges a batch of queued messages at once). `leaving_out`: attempts not to count (a
    queued message's own, recorded when it was queued, is no earlier contact)."""
    borrower_ids = {a.borrower_id for a in accounts}
    account_ids = {a.id for a in accounts}
    holds: dict[int, list[ContactHold]] = {}
    for h in db.session.scalars(
            select(ContactHold).where(ContactHold.borrower_id.in_(borrower_ids), *_in_force(at))
            .order_by(ContactHold.id)):  # holds' reasons come in this order
        holds.setdefault(h.borrower_id, []).append(h)
    prefs = {p.borrower_id: p for p in db.session.scalars(
        select(ContactPreferences).where(ContactPreferences.borrower_id.in_(borrower_ids)))}
    attempts: dict[int, list[ContactAttempt]] = {}
    for a in db.session.scalars(
            select(ContactAttempt).where(ContactAttempt.account_id.in_(account_ids),
                                         ContactAttempt.at > at - ATTEMPT_LOOKBACK,
                                         ContactAttempt.at <= at,
                                         ContactAttempt.outcome != CANCELLED)):
        if a.id not in leaving_out:
            attempts.setdefault(a.account_id, []).append(a)
    agency_ids = {a.creditor.agency_id for a in accounts if a.creditor.agency_id}
    agencies = {g.id: g for g in db.session.scalars(
        select(Agency).where(Agency.id.in_(agency_ids)))} if agency_ids else {}
    return {a.id: _snapshot_of(
        a, [h for h in holds.get(a.borrower_id, ()) if h.account_id in (None, a.id)],
        prefs.get(a.borrower_id), attempts.get(a.id, ()), agencies.get(a.creditor.agency_id))
        for a in accounts}


def _snapshot_of(account: Account, holds, prefs: ContactPreferences | None, attempts,
                 agency: Agency | None) -> Snapshot:
    borrower = account.borrower
    country, region = jurisdiction_of(borrower)
    points = [
        ContactPointInfo(
            kind=p.kind, value="" if p.kind == ContactKind.ADDRESS else p.value,
            label=p.label, time_zones=tuple(p.time_zones), opted_out=p.opted_out_at is not None,
            employer_provided=p.employer_provided, employer_consented=p.employer_email_consent,
        )
        for p in borrower.contact_points
    ]
    sent = account.validation_notice_sent_at
    return Snapshot(
        jurisdiction=country,
        region=region,
        contact_points=tuple(points),
        holds=tuple(
            # A hold lifted after `at` was still in force then, until it was lifted.
            Hold(h.rule, h.started_at, until=h.ended_at or h.until,
                 channels=frozenset(h.channels) if h.channels else None)
            for h in holds
        ),
        preferences=stored_preferences(prefs.data if prefs else {},
                                       {p.id: p.value for p in borrower.contact_points}),
        attempts=tuple(Attempt(a.channel, a.destination, a.at, a.outcome, a.direction,
                               a.with_consent) for a in attempts),
        validation_ends=period_end(sent.date()) if country == "US" and sent else None,
        policy=dict(agency.contact_policy) if agency else {},
    )


def decide(account: Account, channel: str, destination: str | None,
           at: datetime, purpose: Purpose | None = None) -> rules.Decision:
    return rules.decide(snapshot(account, at), channel, destination, at, purpose)


def live_holds(borrower_id: int, account_id: int | None) -> list[ContactHold]:
    return list(db.session.scalars(
        select(ContactHold).where(
            ContactHold.borrower_id == borrower_id,
            ContactHold.ended_at.is_(None),
            or_(ContactHold.account_id.is_(None), ContactHold.account_id == account_id),
        ).order_by(ContactHold.started_at)
    ))


def attempts_of(account_id: int, limit: int = 100) -> list[ContactAttempt]:
    return list(db.session.scalars(
        select(ContactAttempt).where(ContactAttempt.account_id == account_id)
        .order_by(ContactAttempt.at.desc()).limit(limit)
    ))


def preferences_of(borrower_id: int) -> dict:
    row = db.session.get(ContactPreferences, borrower_id)
    return dict(row.data) if row else {}


def preferences_of_many(borrower_ids) -> dict[int, dict]:
    """`preferences_of` for many borrowers in one query (none stored: {})."""
    found = {row.borrower_id: dict(row.data) for row in db.session.scalars(
        select(ContactPreferences).where(ContactPreferences.borrower_id.in_(set(borrower_ids))))}
    return {bid: found.get(bid, {}) for bid in borrower_ids}


def email_address(borrower: Borrower, preferences: dict | None = None) -> str | None:
    """The first email on file the borrower has not opted out of (email as a channel, or that
    address) and that has not bounced for good, or None: where the portal's own messages about
    the debt may go. `preferences`: the borrower's, when already read."""
    if preferences is None:
        preferences = preferences_of(borrower.id)
    if "email" in preferences.get("opted_out_channels", []):
        return None
    opted_out = set(preferences.get("opted_out_points", []))
    return next((p.value for p in borrower.contact_points
                 if p.kind == ContactKind.EMAIL and p.id not in opted_out
                 and p.opted_out_at is None and p.undeliverable_at is None), None)


def postal_address(borrower: Borrower, preferences: dict | None = None) -> str | None:
    """The first postal address the borrower has not opted out of (nor returned undelivered), as a
    letter's address lines
    (addressee first), or None. An opted-out address is never returned: the rules know an
    address by its point, not by these lines, so they could not say why it may not be used.
    `preferences`: the borrower's, when already read."""
    if preferences is None:
        preferences = preferences_of(borrower.id)
    opted_out = set(preferences.get("opted_out_points", []))
    point = next((p for p in borrower.contact_points
                  if p.kind == ContactKind.ADDRESS and p.id not in opted_out
                  and p.opted_out_at is None and p.undeliverable_at is None), None)
    if point is None:
        return None
    return "\n".join(postal.lines(borrower.display_name, point.value, point.line2, point.city,
                                   point.region, point.postal_code, point.country))


def lapsed_borrowers(now: datetime) -> list[int]:
    """Borrowers with a hold whose own end has passed but is not yet recorded as ended."""
    return list(db.session.scalars(
        select(ContactHold.borrower_id).distinct().where(
            ContactHold.ended_at.is_(None), ContactHold.until.is_not(None),
            ContactHold.until <= now,
        )
    ))
