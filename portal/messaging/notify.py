"""notify: the one way a message reaches a borrower.

In the caller's transaction it picks the destination, asks the contact rules whether the
message's purpose may go now on that channel (each rule's entry in the rulebook says which
purposes it stops), renders the words in the borrower's language, records the contact attempt and
hands the message to delivery. A message that cannot go never undoes the action it is about: the
caller gets an Outcome to act on or log, not an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from flask import current_app
from flask_babel import force_locale

from portal.accounts.models import Account, Borrower, ContactKind
from portal.cases.service import Actor
from portal.contact import rules
from portal.contact import service as contact
from portal.contact.operations import Made, attempt_made, attempts_made
from portal.contact.rulebook import Purpose
from portal.extensions import db
from portal.messaging import service as delivery
from portal.messaging.messages import Message
from portal.messaging.render import Rendered, render
from portal.web.i18n import LANGUAGES

log = logging.getLogger("portal.messaging")


class Status(StrEnum):
    #: Handed to delivery (captured in demo mode), the attempt recorded.
    SENT = "sent"
    #: A contact rule stops this purpose on this channel now; `Outcome.rule` names it.
    BLOCKED = "blocked"
    #: The borrower has no address for this channel.
    NO_DESTINATION = "no_destination"
    #: Nothing delivers messages here (outside demo mode, until an adapter is configured).
    NO_DELIVERY = "no_delivery"
    #: Rendering or handing over failed; logged, and rolled back to before the message.
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    status: Status
    destination: str | None = None
    #: The first rule that stopped the message, when blocked.
    rule: str | None = None

    @property
    def sent(self) -> bool:
        return self.status == Status.SENT


def notify(borrower: Borrower, message: Message, *, account: Account | None = None,
           channel: str = "email", destination: str | None = None,
           at: datetime | None = None) -> Outcome:
    """Send `message` about `account` (None: about no one debt, such as a sign-in code) to the
    borrower's `destination` (their pick) or the email on file, as of `at`, if the rules allow."""
    at = at or datetime.now(UTC)
    to = destination or _on_file(borrower, channel)
    if to is None or _undeliverable(borrower, channel, to):
        return _not_sent(borrower, message, Outcome(Status.NO_DESTINATION))
    stopped = _stopped_by(borrower, account, message, channel, to, at)
    if stopped is not None:
        return _not_sent(borrower, message, Outcome(Status.BLOCKED, to, stopped))
    try:
        with db.session.begin_nested():
            words, language = _render(borrower, message, channel)
            queued = delivery.send(
                channel=channel, destination=to, subject=words.subject, body=words.text,
                html=words.html, language=language, kind=message.kind, borrower_id=borrower.id,
                account_id=account.id if account is not None else None,
                agency_id=_agency_of(borrower, account), contact_point_id=_point_of(
                    borrower, channel, to), urgent=message.purpose == Purpose.ACCESS,
                unsubscribe=words.unsubscribe, purpose=message.purpose)
            if account is not None:
                # The portal's own message is a contact like any other: in the contact log and
                # in what the rules count, recorded with the message. A queued one is "sent"
                # until its delivery report (or the worker) settles it.
                attempt = attempt_made(account, channel, to, at,
                                       "delivered" if queued is None else "sent",
                                       Actor.system(f"messaging:{message.kind}"), message.purpose)
                if queued is not None:
                    queued.attempt_id = attempt.id
    except delivery.DeliveryUnavailable:
        return _not_sent(borrower, message, Outcome(Status.NO_DELIVERY, to))
    except Exception:  # noqa: BLE001 - the action the message is about stands without it
        log.exception("%s to borrower %s failed", message.kind, borrower.id)
        return Outcome(Status.FAILED, to)
    return Outcome(Status.SENT, to)


@dataclass(frozen=True)
class About:
    """One message for `notify_many`: about this account, on the channel of the call, to the
    borrower's `destination` (their pick) or the address on file."""

    account: Account
    message: Message
    destination: str | None = None


def notify_many(items: list[About], channel: str, at: datetime) -> list[Outcome]:
    """`notify` for many messages about distinct accounts on one channel at once (an import's
    first letters): each judged by the rules, rendered and recorded as `notify` does it, the
    rules' facts read and the rows written in a few statements for them all. If writing them
    fails, none of them is sent (each Outcome says FAILED) and the caller's action stands."""
    accounts = [item.account for item in items]
    preferences = contact.preferences_of_many({a.borrower_id for a in accounts})
    snapshots = contact.snapshots(accounts, at)
    outcomes: list[Outcome | None] = [None] * len(items)
    going = []
    for n, item in enumerate(items):
        borrower, message = item.account.borrower, item.message
        to = item.destination or _on_file(borrower, channel, preferences[borrower.id])
        if to is None or _undeliverable(borrower, channel, to):
            outcomes[n] = _not_sent(borrower, message, Outcome(Status.NO_DESTINATION))
            continue
        decision = rules.decide(snapshots[item.account.id], channel, to, at)
        stopping = rules.stopping(decision, message.purpose)
        if stopping:
            outcomes[n] = _not_sent(borrower, message, Outcome(Status.BLOCKED, to,
                                                               stopping[0].rule))
            continue
        try:
            words, language = _render(borrower, message, channel)
        except Exception:  # noqa: BLE001 - the action the message is about stands without it
            log.exception("%s to borrower %s failed", message.kind, borrower.id)
            outcomes[n] = Outcome(Status.FAILED, to)
            continue
        going.append((n, item, to, words, language, decision))
    if not going:
        return outcomes
    try:
        with db.session.begin_nested():
            _queue_many(going, channel, at)
    except delivery.DeliveryUnavailable:
        for n, item, to, *_rest in going:
            outcomes[n] = _not_sent(item.account.borrower, item.message,
                                    Outcome(Status.NO_DELIVERY, to))
    except Exception:  # noqa: BLE001 - the action the messages are about stands without them
        log.exception("%s messages on %s failed", len(going), channel)
        for n, _item, to, *_rest in going:
            outcomes[n] = Outcome(Status.FAILED, to)
    else:
        for n, _item, to, *_rest in going:
            outcomes[n] = Outcome(Status.SENT, to)
    return outcomes


def _queue_many(going: list[tuple], channel: str, at: datetime) -> None:
    """The contact attempts (one batch per message kind: its actor) and the messages."""
    queued = delivery.queues(channel)
    attempt_ids: dict[int, int] = {}
    for kind in sorted({item.message.kind for _n, item, *_rest in going}):
        mine = [(n, item, to, decision) for n, item, to, _w, _l, decision in going
                if item.message.kind == kind]
        ids = attempts_made([Made(item.account, channel, to, at,
                                  "sent" if queued else "delivered", item.message.purpose,
                                  decision) for _n, item, to, decision in mine],
                            Actor.system(f"messaging:{kind}"))
        attempt_ids.update(zip([n for n, *_rest in mine], ids, strict=True))
    delivery.send_many(channel, [{
        "destination": to, "subject": words.subject, "body": words.text, "html": words.html,
        "language": language, "kind": item.message.kind,
        "borrower_id": item.account.borrower_id, "account_id": item.account.id,
        "agency_id": _agency_of(item.account.borrower, item.account),
        "contact_point_id": _point_of(item.account.borrower, channel, to),
        "urgent": item.message.purpose == Purpose.ACCESS, "unsubscribe": words.unsubscribe,
        "purpose": item.message.purpose, "attempt_id": attempt_ids[n],
    } for n, item, to, words, language, _decision in going])


def _on_file(borrower: Borrower, channel: str, preferences: dict | None = None) -> str | None:
    """The email on file: the first not opted out, else the first (the rules then say why it may
    not be used); never one marked undeliverable (a bounce for good); for a letter, the postal
    address's lines."""
    if channel == "letter":
        return contact.postal_address(borrower, preferences)
    if channel != "email":
        return None  # a text goes only to the number the borrower picked
    return contact.email_address(borrower, preferences) or next(
        (p.value for p in borrower.contact_points
         if p.kind == ContactKind.EMAIL and p.undeliverable_at is None), None)


def _undeliverable(borrower: Borrower, channel: str, to: str) -> bool:
    """The address or number picked is marked undeliverable: sending would only fail again,
    until staff or the borrower confirm it (`contact_point_confirmed`)."""
    kind = POINT_KINDS.get(channel)
    return any(p.kind == kind and p.value == to and p.undeliverable_at is not None
               for p in borrower.contact_points)


def _stopped_by(borrower: Borrower, account: Account | None, message: Message, channel: str,
                to: str, at: datetime) -> str | None:
    """The first rule that stops this purpose now; a message about no one debt is judged against
    each of the borrower's accounts."""
    for judged in [account] if account is not None else borrower.accounts:
        stopping = rules.stopping(contact.decide(judged, channel, to, at), message.purpose)
        if stopping:
            return stopping[0].rule
    return None


def _render(borrower: Borrower, message: Message, channel: str) -> tuple[Rendered, str]:
    locale = LANGUAGES.get(borrower.preferred_language, "en")
    with force_locale(locale):
        return render(message.words(locale), message.purpose, channel,
                      current_app.config["PUBLIC_URL"], message.kind), locale


#: The kind of contact point each channel goes to.
POINT_KINDS = {"email": ContactKind.EMAIL, "sms": ContactKind.PHONE, "letter": ContactKind.ADDRESS}


def _point_of(borrower: Borrower, channel: str, to: str) -> int | None:
    """The contact point the message goes to, marked if delivery fails for good."""
    kind = POINT_KINDS.get(channel)
    return next((p.id for p in borrower.contact_points if p.kind == kind and p.value == to), None)


def _agency_of(borrower: Borrower, account: Account | None) -> int | None:
    """The agency the message comes from: the account's, else that of the borrower's first."""
    for about in [account] if account is not None else borrower.accounts:
        if about.creditor.agency_id is not None:
            return about.creditor.agency_id
    return None


def _not_sent(borrower: Borrower, message: Message, outcome: Outcome) -> Outcome:
    log.info("%s to borrower %s not sent: %s%s", message.kind, borrower.id, outcome.status,
             f" ({outcome.rule})" if outcome.rule else "")
    return outcome
