"""What staff do on a case from the console: each one transaction through the one flow (checked,
the rows changed, a case event, holds re-derived, the agency's systems told where they listen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import available_timezones

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus, Borrower, ContactKind
from portal.agency.scope import within
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.casework.notes import CaseNote, NoteAbout
from portal.contact import localtime
from portal.contact import service as contact
from portal.contact.models import ContactAttempt
from portal.contact.operations import attempt_made
from portal.contact.rulebook import RULES
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.identity.refusals import refusal
from portal.identity.roles import (
    ADD_NOTES,
    ADJUST_BALANCES,
    MESSAGE_BORROWERS,
    PAUSE_CONTACT,
    RECORD_CONVERSATIONS,
    VIEW_CASES,
    allows,
)
from portal.messaging import messages
from portal.messaging.notify import Status, notify
from portal.money import Money
from portal.operations import NotFound, Refused, operation

NOTE_MAX = 2000
SUBJECT_MAX = 150
MESSAGE_MAX = 1500
#: The longest a supervisor may pause contact for at once (agency policy; renewable).
PAUSE_MAX_DAYS = 90
PAUSE_KEY = "supervisor-pause"
PAUSE_RULE = "policy.supervisor-pause"
#: What a conversation's record may say: the channels a conversation happens on, and how it went.
CONVERSATION_CHANNELS = ("call", "visit", "sms", "email")
CONVERSATION_OUTCOMES = ("conversation", "no_answer", "voicemail", "busy", "wrong_number")
#: Where a message staff write can go.
MESSAGE_CHANNELS = ("email", "sms")
POINT_KIND = {"call": ContactKind.PHONE, "sms": ContactKind.PHONE, "email": ContactKind.EMAIL}


def _actor(staff: StaffUser, source: str | None) -> Actor:
    return Actor("staff", str(staff.id), source)


def _case(staff: StaffUser, reference: str, permission: str, *, lock: bool = False) -> Account:
    """The staff member's agency's account (another agency's is not found), when their role may
    do this; locked for update when the action changes money."""
    query = select(Account).where(Account.reference == reference,
                                  within(staff.agency_id, Account.id))
    account = db.session.scalar(query.with_for_update() if lock else query)
    if account is None:
        raise NotFound()
    if not allows(staff.role, permission):
        raise Refused(refusal(staff.role, permission), status=403)
    return account


def _note(staff: StaffUser, account: Account, about: NoteAbout, text: str, **links) -> CaseNote:
    note = CaseNote(account_id=account.id, author_id=staff.id, about=str(about), text=text,
                    created_at=datetime.now(UTC), **links)
    db.session.add(note)
    db.session.flush()
    return note


def _words(text: str | None, limit: int, missing: str | None) -> str | None:
    """Free text trimmed; refused when required and missing, or too long."""
    text = (text or "").strip()
    if not text:
        if missing is not None:
            raise Refused(missing)
        return None
    if len(text) > limit:
        raise Refused(_("Please keep it under %(n)d characters.", n=limit))
    return text


def _point(borrower: Borrower, point_id: int | None, channel: str) -> str | None:
    """The borrower's own phone or email the staff member picked, for this channel."""
    kind = POINT_KIND.get(channel)
    if kind is None:
        return None
    point = next((p for p in borrower.contact_points if p.id == point_id and p.kind == kind),
                 None)
    if point is None:
        raise Refused(_("Choose one of the borrower's phone numbers or email addresses for "
                        "this channel."))
    return point.value


# --- personal data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revealed:
    """The borrower's personal data in full, for the one page that asked (and recorded it)."""

    date_of_birth: str
    national_id_last4: str | None
    #: By contact point id: the number, address or the address's lines.
    points: dict[int, str]


@operation
def reveal_personal_data(staff: StaffUser, reference: str, source: str | None) -> Revealed:
    """Show what the case page masks, recording who saw it, from where, and which fields."""
    account = _case(staff, reference, VIEW_CASES)
    borrower = account.borrower
    points = {}
    for p in borrower.contact_points:
        if p.kind == ContactKind.ADDRESS:
            points[p.id] = ", ".join(x for x in (p.value, p.line2, p.city, p.region,
                                                 p.postal_code, p.country) if x)
        else:
            points[p.id] = p.value
    record(_actor(staff, source), EventKind.PERSONAL_DATA_VIEWED, borrower_id=borrower.id,
           account_id=account.id,
           data={"fields": ["date_of_birth", "national_id", "phone", "email", "address"],
                 "role": staff.role})
    return Revealed(borrower.date_of_birth, borrower.national_id_last4, points)


# --- notes and conversations ---------------------------------------------------------------------


@operation
def add_note(staff: StaffUser, reference: str, text: str | None, source: str | None) -> CaseNote:
    account = _case(staff, reference, ADD_NOTES)
    words = _words(text, NOTE_MAX, _("Write the note."))
    note = _note(staff, account, NoteAbout.NOTE, words)
    record(_actor(staff, source), EventKind.NOTE_ADDED, borrower_id=account.borrower_id,
           account_id=account.id, data={"note": note.id, "about": str(NoteAbout.NOTE)})
    return note


@operation
def record_conversation(staff: StaffUser, reference: str, channel: str, direction: str,
                        outcome: str, point_id: int | None, agreed: str | None,
                        source: str | None, at: datetime | None = None) -> ContactAttempt:
    """A contact with the borrower as it happened: recorded as an attempt the contact rules count
    (7 calls in 7 days, 7 days after a conversation), flagged if the rules forbade it, with what
    was agreed kept as the case's note."""
    account = _case(staff, reference, RECORD_CONVERSATIONS)
    if channel not in CONVERSATION_CHANNELS:
        raise Refused(_("Choose how you spoke with the borrower."))
    if direction not in ("outbound", "inbound"):
        raise Refused(_("Choose who made contact."))
    if outcome not in CONVERSATION_OUTCOMES:
        raise Refused(_("Choose how it went."))
    words = _words(agreed, NOTE_MAX, None)
    destination = _point(account.borrower, point_id, channel)
    actor = _actor(staff, source)
    attempt = attempt_made(account, channel, destination, at or datetime.now(UTC), outcome, actor,
                           direction=direction)
    if words is not None:
        note = _note(staff, account, NoteAbout.CONVERSATION, words, attempt_id=attempt.id)
        record(actor, EventKind.NOTE_ADDED, borrower_id=account.borrower_id,
               account_id=account.id, data={"note": note.id, "about": str(note.about),
                                            "attempt": attempt.id})
    return attempt


# --- money ---------------------------------------------------------------------------------------


@operation
def adjust_balance(staff: StaffUser, reference: str, direction: str, amount: str | None,
                   component: str | None, reason: str | None, source: str | None):
    """A ledger adjustment with its reason (the words kept as an encrypted note, the ledger line
    saying only what kind of correction it is); the account is paid if it reaches zero."""
    account = _case(staff, reference, ADJUST_BALANCES, lock=True)
    if account.status == AccountStatus.CLOSED:
        raise Refused(_("This account is closed: its balance cannot change."), status=409)
    if direction not in ("reduce", "increase"):
        raise Refused(_("Choose whether to reduce or increase the balance."))
    try:
        money = Money.parse((amount or "").strip(), account.currency)
    except (ValueError, ArithmeticError):
        raise Refused(_("Give the amount as a number, like 25.00.")) from None
    if money.minor <= 0:
        raise Refused(_("The amount must be more than zero."))
    words = _words(reason, NOTE_MAX, _("Give the reason for the adjustment."))
    balance = ledger.balance_of(account.id, account.currency)
    actor, now = _actor(staff, source), datetime.now(UTC)
    if direction == "reduce":
        if money.minor > balance.minor:
            raise Refused(_("A reduction cannot take the balance below zero."))
        entry = ledger.post_staff_correction(account, -money.minor, None,
                                       "Balance adjustment (reduction)", actor, now)
    else:
        if component not in ledger.CHARGE_KINDS:
            raise Refused(_("Choose whether the increase is interest or fees."))
        entry = ledger.post_staff_correction(account, money.minor, component,
                                       f"Balance adjustment ({component})", actor, now)
    note = _note(staff, account, NoteAbout.ADJUSTMENT, words, entry_id=entry.id)
    record(actor, EventKind.BALANCE_ADJUSTED, borrower_id=account.borrower_id,
           account_id=account.id,
           data={"entry": entry.id, "amount_minor": entry.amount_minor,
                 "currency": account.currency, "direction": direction, "note": note.id})
    ledger.settle_status(account, actor, now)
    contact.reconcile(account.borrower, actor)  # paid in full (or owing again) moves the holds
    return entry


# --- a supervisor's pause ------------------------------------------------------------------------


def _live_pause(account: Account):
    return next((h for h in contact.live_holds(account.borrower_id, account.id)
                 if h.key == PAUSE_KEY and h.account_id == account.id), None)


@operation
def pause_contact(staff: StaffUser, reference: str, until: date | None, reason: str | None,
                  source: str | None, today: date | None = None):
    """Pause collection contact on this account until the end of `until` (the staff member's
    day): agency policy, `policy.supervisor-pause`, lifted early by a supervisor or when the day
    passes."""
    account = _case(staff, reference, PAUSE_CONTACT)
    zone = staff.shown_time_zone
    today = today or datetime.now(UTC).astimezone(localtime.zone(zone)).date()
    if until is None:
        raise Refused(_("Give the last day of the pause."))
    if not today <= until <= today + timedelta(days=PAUSE_MAX_DAYS):
        raise Refused(_("The last day must be between today and %(n)d days from now.",
                        n=PAUSE_MAX_DAYS))
    words = _words(reason, NOTE_MAX, _("Give the reason for the pause."))
    if _live_pause(account) is not None:
        raise Refused(_("Contact on this account is already paused: lift that pause first."),
                      status=409)
    ends = localtime.at_local(until + timedelta(days=1), time(0), zone)
    note = _note(staff, account, NoteAbout.PAUSE, words)
    actor = _actor(staff, source)
    record(actor, EventKind.CONTACT_PAUSED, borrower_id=account.borrower_id,
           account_id=account.id,
           data={"until": ends.isoformat(), "note": note.id,
                 "hold_starts": [{"key": PAUSE_KEY, "rule": PAUSE_RULE,
                                  "until": ends.isoformat()}]})
    contact.reconcile(account.borrower, actor)


@operation
def lift_pause(staff: StaffUser, reference: str, source: str | None) -> None:
    account = _case(staff, reference, PAUSE_CONTACT)
    if _live_pause(account) is None:
        raise Refused(_("Contact on this account is not paused by a supervisor."), status=409)
    actor = _actor(staff, source)
    record(actor, EventKind.CONTACT_PAUSE_LIFTED, borrower_id=account.borrower_id,
           account_id=account.id, data={"hold_ends": [PAUSE_KEY]})
    contact.reconcile(account.borrower, actor)


# --- a message to the borrower -------------------------------------------------------------------


@operation
def send_message(staff: StaffUser, reference: str, channel: str, point_id: int | None,
                 subject: str | None, body: str | None, source: str | None,
                 at: datetime | None = None) -> str:
    """Write to the borrower through notify, as the contact rules allow now; a message they stop
    is refused with the rule's name and nothing is recorded. Returns where it went."""
    account = _case(staff, reference, MESSAGE_BORROWERS)
    if channel not in MESSAGE_CHANNELS:
        raise Refused(_("Choose email or text message."))
    destination = _point(account.borrower, point_id, channel)
    subject = _words(subject, SUBJECT_MAX, _("Write a subject.")) if channel == "email" else ""
    words = _words(body, MESSAGE_MAX, _("Write the message."))
    outcome = notify(account.borrower, messages.staff_message(subject or "", words),
                     account=account, channel=channel, destination=destination, at=at)
    if outcome.status == Status.BLOCKED:
        raise Refused(_("Not sent: blocked by %(rule)s (%(why)s).", rule=outcome.rule,
                        why=_(RULES[outcome.rule].agent_text)), status=409)
    if outcome.status == Status.NO_DELIVERY:
        raise Refused(_("Not sent: nothing delivers messages on this channel yet."), status=409)
    if not outcome.sent:
        raise Refused(_("Not sent: the message could not be handed over. Try again."),
                      status=409)
    note = _note(staff, account, NoteAbout.MESSAGE,
                 f"{subject}\n\n{words}" if subject else words)
    record(_actor(staff, source), EventKind.STAFF_MESSAGE_SENT, borrower_id=account.borrower_id,
           account_id=account.id, data={"channel": channel, "note": note.id})
    return outcome.destination


# --- the staff member's own setting --------------------------------------------------------------


@operation
def set_time_zone(staff: StaffUser, zone: str | None) -> str:
    """The zone the console shows this staff member's times in (history, holds, attempts)."""
    zone = (zone or "").strip()
    if zone not in available_timezones() and zone != "UTC":
        raise Refused(_("Give a time zone by its name, like America/New_York or UTC."))
    db.session.get(StaffUser, staff.id).time_zone = zone
    return zone
