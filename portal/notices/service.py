"""Queueing the first letter of newly placed accounts, and the notice as the borrower reads it.

The placement import calls `queue_first_letters` in the transaction of each chunk it places, so a
notice goes for every account placed and for none of an import that rolled back.

When is the validation notice "sent"? When it is queued: the words are written then (they state
the end of the validation period, counted from that day), the letter's PDF is left for the
print vendor by the worker within seconds, and 1006.34(b)(5) assumes receipt 5 business days
after the notice is provided. A notice that could go by neither letter nor email is not sent,
and the account keeps no sent date (so no validation period is claimed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.itemization import itemize
from portal.accounts.models import Account, Borrower, ContactKind, ContactPoint
from portal.accounts.service import postings
from portal.agency.models import Agency
from portal.bulk import any_of
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor, Pending, record, record_many
from portal.contact import service as contact
from portal.contact.rulebook import Purpose
from portal.extensions import db
from portal.messaging import messages
from portal.messaging.notify import About, notify, notify_many
from portal.notices import wording
from portal.notices.content import KINDS, FirstLetter, Party, first_letter
from portal.notices.models import DeliveryConsent
from portal.operations import NotFound, Refused, operation

log = logging.getLogger("portal.notices")

#: What the contact rules judge each letter as: the US notice is one the law requires
#: (1006.34; a cease lets it through, 1006.6(c)(2)); the UK and China letters are collection.
PURPOSES = {"US": Purpose.REQUIRED_NOTICE, "GB": Purpose.COLLECTION, "CN": Purpose.COLLECTION}


def _collector(agency: Agency | None) -> Party:
    """The agency's name and mailing address (its return address, without the name line)."""
    if agency is None:
        return Party("", ())
    lines = [line for line in (agency.postal_address or "").splitlines() if line.strip()]
    if lines and lines[0] == agency.name:
        lines = lines[1:]
    return Party(agency.name, tuple(lines))


def notice_for(account: Account, sent_at: datetime,
               preferences: dict | None = None) -> FirstLetter | None:
    """The account's first letter as sent at `sent_at` (None: its creditor's country has none):
    the itemization as the ledger stood then, so the page shows the notice the borrower got.
    `preferences`: the borrower's contact preferences, when already read."""
    creditor = account.creditor
    if creditor.country not in KINDS:
        return None
    borrower = account.borrower
    agency = db.session.get(Agency, creditor.agency_id) if creditor.agency_id else None
    address = (contact.postal_address(borrower, preferences) or "").splitlines()
    # Opening entries of an account whose notice went before it reached us count as sent with it.
    cutoff = max(sent_at, account.placed_at)
    entries = [e for e in account.ledger if e.posted_at <= cutoff]
    return first_letter(
        country=creditor.country, collector=_collector(agency),
        consumer=Party(borrower.display_name, tuple(address[1:])), reference=account.reference,
        creditor=creditor.name, account_number=account.original_account_number,
        product=account.product, itemization_date=account.itemization_date,
        itemization=itemize(postings(entries), account.currency),
        sent_on=sent_at.astimezone(UTC).date(), portal_url=current_app.config["PUBLIC_URL"],
        language=borrower.preferred_language, sign_in_reference=borrower.reference)


def sent_notice(account: Account) -> FirstLetter | None:
    """The first letter the borrower was sent (the US validation notice, the UK's or China's
    own), for their account page; None when none was sent."""
    sent = account.validation_notice_sent_at
    if account.creditor.country != "US":
        sent = db.session.scalar(
            select(CaseEvent.occurred_at).where(CaseEvent.account_id == account.id,
                                                CaseEvent.kind == EventKind.FIRST_LETTER_SENT)
            .order_by(CaseEvent.id.desc()).limit(1))
    return notice_for(account, sent) if sent is not None else None


def email_consent(borrower_id: int, *, lock: bool = False) -> DeliveryConsent | None:
    """The borrower's consent to notices by email, if one is in force (locked if asked)."""
    query = select(DeliveryConsent).where(DeliveryConsent.borrower_id == borrower_id,
                                          DeliveryConsent.withdrawn_at.is_(None))
    return db.session.scalar(query.with_for_update() if lock else query)


def consented_point(borrower: Borrower) -> ContactPoint | None:
    """The email contact point the borrower consented to get notices at, if in force."""
    consent = email_consent(borrower.id)
    if consent is None:
        return None
    return next((p for p in borrower.contact_points if p.id == consent.contact_point_id), None)


def email_for_notices(borrower: Borrower) -> ContactPoint | None:
    """The email a consent given now would name: the one the portal may write to."""
    address = contact.email_address(borrower)
    return next((p for p in borrower.contact_points
                 if p.kind == ContactKind.EMAIL and p.value == address), None)


def send_first_letter(account: Account, actor: Actor, at: datetime) -> list[str]:
    """Queue the account's first letter by post and, with consent, by email; the channels it
    went by. A US account whose notice was sent before (the lender's file says so) gets none."""
    country = account.creditor.country
    if country == "US" and account.validation_notice_sent_at is not None:
        return []
    letter = notice_for(account, at)
    if letter is None:
        return []
    message = messages.notice(letter.kind, PURPOSES[country], wording.subject(letter),
                              wording.as_text(wording.sections(letter)))
    borrower = account.borrower
    went = []
    if notify(borrower, message, account=account, channel="letter", at=at).sent:
        went.append("letter")
    email = consented_point(borrower)
    if email and notify(borrower, message, account=account, channel="email",
                        destination=email.value, at=at).sent:
        went.append("email")
    if went:
        _recorded(account, letter, went, actor, at)
    else:
        log.warning("first letter of account %s not sent", account.id)
    return went


def _letter_event(account: Account, letter: FirstLetter, went: list[str],
                  at: datetime) -> Pending:
    """The case says the letter went: the US notice's sent date (which the caller sets on the
    account) opens the validation period; a UK or China letter is an event the account page
    finds it by."""
    if letter.kind != KINDS["US"]:
        return Pending(EventKind.FIRST_LETTER_SENT, account.borrower_id, account.id,
                       {"letter": letter.kind, "sent_on": letter.sent_on.isoformat(),
                        "channels": went})
    return Pending(EventKind.VALIDATION_NOTICE_SENT, account.borrower_id, account.id,
                   {"sent_on": letter.sent_on.isoformat(),
                    "respond_by": letter.respond_by.isoformat(), "channels": went,
                    "spanish": letter.spanish})


def _recorded(account: Account, letter: FirstLetter, went: list[str], actor: Actor,
              at: datetime) -> None:
    event = _letter_event(account, letter, went, at)
    if event.kind == EventKind.VALIDATION_NOTICE_SENT:
        account.validation_notice_sent_at = at
    record(actor, event.kind, borrower_id=event.borrower_id, account_id=event.account_id,
           at=at, data=event.data)


def sent_before(account: Account, actor: Actor, at: datetime) -> None:
    """A UK or China first letter the agency sent by post before the portal (the demo seed's
    accounts, as the US ones carry their notice's date): recorded as sent, nothing queued."""
    letter = notice_for(account, at)
    if letter is not None and letter.kind != KINDS["US"]:
        _recorded(account, letter, ["letter"], actor, at)


def queue_first_letters(account_ids: Sequence[int], actor: Actor) -> None:
    """Queue the first letter of each of these newly placed accounts, in the caller's
    transaction (the import's chunk): what `send_first_letter` does for each, the accounts and
    what the letters read loaded at once, the letters and then the emails notified together."""
    if not account_ids:
        return
    at = datetime.now(UTC)
    accounts = list(db.session.scalars(
        select(Account).where(Account.id.in_(list(account_ids))).order_by(Account.id)
        .options(selectinload(Account.creditor), selectinload(Account.ledger),
                 selectinload(Account.borrower).selectinload(Borrower.contact_points))))
    preferences = contact.preferences_of_many({a.borrower_id for a in accounts})
    # Held here for the chunk: the session keeps only what someone holds, and `notice_for`
    # would read the agency again for every account.
    agencies = list(db.session.scalars(select(Agency).where(
        Agency.id.in_({a.creditor.agency_id for a in accounts}))))
    letters = {}
    for account in accounts:
        country = account.creditor.country
        if country == "US" and account.validation_notice_sent_at is not None:
            continue
        letter = notice_for(account, at, preferences[account.borrower_id])
        if letter is not None:
            parts = wording.sections(letter)
            letters[account.id] = (account, letter, messages.notice(
                letter.kind, PURPOSES[country], wording.subject(letter, parts),
                wording.as_text(parts)))
    went: dict[int, list[str]] = {aid: [] for aid in letters}
    posted = notify_many([About(a, m) for a, _l, m in letters.values()], "letter", at)
    for aid, outcome in zip(letters, posted, strict=True):
        if outcome.sent:
            went[aid].append("letter")
    emails = consented_emails([a.borrower for a, _l, _m in letters.values()])
    by_email = [aid for aid, (a, _l, _m) in letters.items() if emails.get(a.borrower_id)]
    mailed = notify_many([About(letters[aid][0], letters[aid][2],
                                emails[letters[aid][0].borrower_id]) for aid in by_email],
                         "email", at)
    for aid, outcome in zip(by_email, mailed, strict=True):
        if outcome.sent:
            went[aid].append("email")
    noticed = []
    for aid, (account, letter, _message) in letters.items():
        if not went[aid]:
            log.warning("first letter of account %s not sent", aid)
        else:
            noticed.append(_letter_event(account, letter, went[aid], at))
    _notices_sent([e.account_id for e in noticed
                   if e.kind == EventKind.VALIDATION_NOTICE_SENT], letters, at)
    record_many(actor, noticed, at)
    del agencies


def _notices_sent(account_ids: list[int], letters: dict, at: datetime) -> None:
    """The US notices' sent date on their accounts in one UPDATE (a flush of a chunk's dirty
    accounts cost 0.4 s a thousand), and on the loaded accounts as if read back."""
    if not account_ids:
        return
    db.session.execute(Account.__table__.update()
                       .where(Account.__table__.c.id == any_of(account_ids, Integer()))
                       .values(validation_notice_sent_at=at))
    for aid in account_ids:
        set_committed_value(letters[aid][0], "validation_notice_sent_at", at)


def consented_emails(borrowers: Sequence[Borrower]) -> dict[int, str]:
    """`consented_email` for many borrowers in one query: {borrower id: address}."""
    points = dict(db.session.execute(select(
        DeliveryConsent.borrower_id, DeliveryConsent.contact_point_id).where(
        DeliveryConsent.borrower_id.in_({b.id for b in borrowers}),
        DeliveryConsent.withdrawn_at.is_(None))).all())
    found = {}
    for borrower in borrowers:
        address = next((p.value for p in borrower.contact_points
                        if p.id == points.get(borrower.id)), None)
        if address is not None:
            found[borrower.id] = address
    return found


@operation
def consent_to_email(borrower_id: int, actor: Actor) -> DeliveryConsent:
    """The borrower agrees to get notices at their email on file too (E-SIGN consent,
    1006.42(b)); one consent in force at a time."""
    borrower = db.session.get(Borrower, borrower_id, with_for_update=True)
    if borrower is None:
        raise NotFound()
    if email_consent(borrower.id):
        raise Refused(_("You already get notices by email."), status=409)
    point = email_for_notices(borrower)
    if point is None:
        raise Refused(_("We have no email address for you that we may write to."))
    now = datetime.now(UTC)
    consent = DeliveryConsent(borrower_id=borrower.id, contact_point_id=point.id,
                              source=actor.type, given_at=now, given_by_event_id=0)
    event = record(actor, EventKind.EDELIVERY_CONSENTED, borrower_id=borrower.id, at=now,
                   data={"contact_point": point.id})
    consent.given_by_event_id = event.id
    db.session.add(consent)
    db.session.flush()
    return consent


@operation
def withdraw_email_consent(borrower_id: int, actor: Actor) -> None:
    """Notices go by post only from now on."""
    consent = email_consent(borrower_id, lock=True)
    if consent is None:
        raise Refused(_("You do not get notices by email."), status=409)
    now = datetime.now(UTC)
    event = record(actor, EventKind.EDELIVERY_WITHDRAWN, borrower_id=borrower_id, at=now,
                   data={"consent": consent.id})
    consent.withdrawn_at, consent.withdrawn_by_event_id = now, event.id
