"""Disputes: the borrower's, and staff's answers to them; each step one transaction.

Files are checked before anything is written; they are written to disk just before the
transaction that records them, and removed again if it does not commit, so nothing of a refused
dispute is kept.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal import numbers
from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus, Borrower
from portal.accounts.service import own_account
from portal.accounts.validation import period_end
from portal.agency.models import Agency
from portal.agency.scope import within
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact import service as contact
from portal.contact.localtime import local_today
from portal.disputes import evidence, rules, scanning, storage
from portal.disputes.models import Dispute, EvidenceFile
from portal.disputes.rules import DisputeStatus as D
from portal.extensions import db
from portal.messaging import messages
from portal.messaging.notify import Status as Told
from portal.messaging.notify import notify
from portal.money import Money, MoneyError
from portal.operations import NotFound, Refused, operation
from portal.outbox.service import publish

log = logging.getLogger("portal.disputes")

DETAILS_MAX = 2000
#: The holds that verification sent lifts (the others wait for the resolution).
LIFTED_BY_VERIFICATION = {"us.dispute-pending-verification"}
NOTE_MAX = 1000
DELIVERIES = ("portal_email", "mail")


def _today() -> date:
    return datetime.now(UTC).date()


def within_validation(account: Account, today: date) -> bool:
    """Whether today falls inside the account's validation period (US accounts only)."""
    sent = account.validation_notice_sent_at
    country, _region = contact.jurisdiction_of(account.borrower)
    return country == "US" and sent is not None and today <= period_end(sent.date())


def _own_account(borrower_id: int, reference: str) -> Account:
    return own_account(borrower_id, reference, lock=True)


def _stored(cleaned: list[evidence.Cleaned]) -> list[tuple[evidence.Cleaned, str]]:
    return [(c, storage.write(c.data)) for c in cleaned]


def budget() -> evidence.Budget:
    """The evidence budget of this deployment (EVIDENCE_BUDGET: MB, MB, megapixels, megapixels)."""
    per_file, per_request, per_image, pixels = current_app.config.get(
        "EVIDENCE_BUDGET", (64, 128, 24, 100))
    return evidence.Budget(per_file * evidence.MB, per_request * evidence.MB,
                           per_image * 1_000_000, pixels * 1_000_000)


def _checked(files: list[tuple[str | None, bytes]]) -> list[evidence.Cleaned]:
    try:
        cleaned = evidence.check_all(files, budget())
    except evidence.Refused as refusal:
        raise Refused(_(refusal.message)) from None
    for _name, data in files:
        try:  # the scanner sees what the borrower sent (and its type), before our cleaning
            scanning.scan(data, evidence.sniff(data))
        except scanning.ScanFailed:
            raise Refused(_("A file did not pass our virus check, so nothing was sent. Check "
                            "the file, or send a photo of the document instead.")) from None
    return cleaned


def _with_files(files, write):
    """Check the files, store them, run `write(stored)`; take the files back if it fails."""
    stored = _stored(_checked(files))
    try:
        return write(stored)
    except BaseException:
        storage.remove([name for _c, name in stored])
        raise


def _file_rows(dispute: Dispute, stored, kind: str, by: str) -> None:
    now = datetime.now(UTC)
    for cleaned, name in stored:
        db.session.add(EvidenceFile(
            dispute_id=dispute.id, kind=kind, stored_name=name, display_name=cleaned.name,
            content_type=cleaned.content_type, size=len(cleaned.data),
            sha256=hashlib.sha256(cleaned.data).hexdigest(), uploaded_by=by, created_at=now))


# --- the borrower's side -------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeForm:
    """What the borrower said, as the view parsed it."""

    reasons: list[str]
    details: str
    part: str | None  # None: the whole debt; else the amount disputed, as typed
    wants_original_creditor: bool


def open_dispute(borrower_id: int, reference: str, said: DisputeForm,
                 files: list[tuple[str | None, bytes]], actor: Actor) -> Dispute:
    """Write the dispute, its files, its case event, its holds and its webhook, all at once."""
    return _with_files(files, lambda stored: _open(borrower_id, reference, said, stored, actor))


@operation
def _open(borrower_id: int, reference: str, said: DisputeForm, stored, actor: Actor) -> Dispute:
    account = _own_account(borrower_id, reference)
    if account.status == AccountStatus.RECALLED:
        raise Refused(_("This account has been returned to %(creditor)s, who collects it now: "
                        "tell them if you think it is wrong.", creditor=account.creditor.name),
                      status=409)
    reasons = [r for r in rules.REASONS if r in set(said.reasons)]
    if not reasons or len(reasons) != len(set(said.reasons)):
        raise Refused(_("Choose at least one reason from the list."))
    details = (said.details or "").strip()
    if len(details) > DETAILS_MAX:
        raise Refused(_("Please keep your explanation under %(n)d characters.", n=DETAILS_MAX))
    if "other" in reasons and not details:
        raise Refused(_("Tell us in a few words what is wrong."))
    balance = ledger.balance_of(account.id, account.currency)
    disputed = None
    if said.part is not None:
        try:
            disputed = Money.parse(said.part, account.currency)
        except MoneyError:
            raise Refused(_("Enter the amount you dispute as a number, like 50.00.")) from None
        if disputed.minor <= 0 or disputed.minor > max(balance.minor, 0):
            raise Refused(_("The amount you dispute must be more than zero and no more than the "
                            "balance."))
    today = local_today(account.borrower)
    inside = within_validation(account, today)
    country, _region = contact.jurisdiction_of(account.borrower)
    agency = (db.session.get(Agency, account.creditor.agency_id)
              if account.creditor.agency_id else None)
    policy_on = agency is None or agency.contact_policy.get(
        "policy.dispute-outside-validation", True)
    holds = rules.hold_rules(country, set(reasons), inside, policy_on)
    now = datetime.now(UTC)
    dispute = Dispute(
        borrower_id=borrower_id, account_id=account.id, reasons=reasons, details=details or None,
        disputed_minor=disputed.minor if disputed else None, currency=account.currency,
        wants_original_creditor=said.wants_original_creditor, status=D.RECEIVED,
        within_validation=inside, holds=holds, opened_at=now)
    db.session.add(dispute)
    db.session.flush()
    _file_rows(dispute, stored, "evidence", "borrower")
    event = record(actor, EventKind.DISPUTE_OPENED, borrower_id=borrower_id,
                   account_id=account.id, at=now,
                   data={"dispute": dispute.number, "account_id": account.id, "reasons": reasons,
                         "holds": holds, "hold_starts": _hold_starts(dispute),
                         "within_validation": inside, "files": len(stored),
                         "disputed_minor": dispute.disputed_minor, "currency": account.currency,
                         "wants_original_creditor": said.wants_original_creditor})
    contact.reconcile(account.borrower, actor)
    publish("dispute.opened", _message(dispute, account), account_ref=account.reference,
            case_event_id=event.id)
    _confirm_by_email(account.borrower, dispute)
    return dispute


def _hold_key(dispute: Dispute, key: str) -> str:
    return f"dispute:{dispute.number}:{key}"


def _hold_starts(dispute: Dispute) -> list[dict]:
    """The holds the dispute starts, named as every event names its holds (contact/derive.py)."""
    return [{"key": _hold_key(dispute, key), "rule": rule}
            for key, rule in sorted(dispute.holds.items())]


def _message(dispute: Dispute, account: Account, **extra) -> dict:
    return {"account_ref": account.reference, "dispute": dispute.number,
            "status": dispute.status, "reasons": dispute.reasons,
            "within_validation": dispute.within_validation,
            "holds": sorted(dispute.holds.values()), "disputed_minor": dispute.disputed_minor,
            "currency": dispute.currency, **extra}


def _confirm_by_email(borrower: Borrower, dispute: Dispute) -> None:
    """The confirmation email, where the contact rules let it go; the dispute stands either way."""
    notify(borrower, messages.dispute_received(dispute.number, dispute.account.reference),
           account=dispute.account)


def own_dispute(borrower_id: int, number: str, lock: bool = False) -> Dispute:
    """The borrower's own dispute, or 404 (another borrower's number finds nothing)."""
    return numbers.row_of(Dispute, "D", number, Dispute.borrower_id == borrower_id, lock=lock)


def disputes_of(borrower_id: int, account_id: int) -> list[Dispute]:
    return list(db.session.scalars(select(Dispute).where(
        Dispute.borrower_id == borrower_id, Dispute.account_id == account_id)
        .order_by(Dispute.opened_at.desc())))


def _move(dispute: Dispute, status: D) -> None:
    """A borrower or staff acting on a dispute another has just closed gets a clear 409."""
    if not rules.DISPUTE.allows(dispute.status, status):
        raise Refused(_("This dispute has already been closed."), status=409)
    rules.DISPUTE.move(dispute, status)


def _ending(dispute: Dispute, kind: EventKind, actor: Actor, keys: list[str], **data):
    """Record an event that ends some of the dispute's holds, and bring holds in line."""
    event = record(actor, kind, borrower_id=dispute.borrower_id, account_id=dispute.account_id,
                   data={"dispute": dispute.number, "account_id": dispute.account_id,
                         "hold_ends": [_hold_key(dispute, k) for k in keys
                                       if k in dispute.holds], **data})
    contact.reconcile(db.session.get(Borrower, dispute.borrower_id), actor)
    return event


@operation
def withdraw(borrower_id: int, number: str, actor: Actor) -> Dispute:
    dispute = own_dispute(borrower_id, number, lock=True)
    _move(dispute, D.WITHDRAWN)
    dispute.withdrawn_at = datetime.now(UTC)
    event = _ending(dispute, EventKind.DISPUTE_WITHDRAWN, actor, list(dispute.holds))
    publish("dispute.resolved", _message(dispute, dispute.account, outcome="withdrawn"),
            account_ref=dispute.account.reference, case_event_id=event.id)
    return dispute


# --- staff's side --------------------------------------------------------------------------------


def staff_dispute(agency_id: int, number: str, lock: bool = False) -> Dispute:
    """A dispute on one of the staff member's agency's accounts; another agency's is 404."""
    return numbers.row_of(Dispute, "D", number, within(agency_id, Dispute.account_id), lock=lock)


@operation
def open_for_staff(agency_id: int, number: str, actor: Actor, role: str) -> Dispute:
    """Staff open a dispute: its evidence is personal data, so the view is recorded."""
    dispute = staff_dispute(agency_id, number)
    record(actor, EventKind.STAFF_VIEWED, borrower_id=dispute.borrower_id,
           account_id=dispute.account_id, data={"view": "dispute", "dispute": dispute.number,
                                                "role": role})
    return dispute


@operation
def start_review(agency_id: int, number: str, actor: Actor) -> Dispute:
    dispute = staff_dispute(agency_id, number, lock=True)
    if dispute.status == D.RECEIVED:
        _move(dispute, D.UNDER_REVIEW)
        record(actor, EventKind.DISPUTE_REVIEW_STARTED, borrower_id=dispute.borrower_id,
               account_id=dispute.account_id, data={"dispute": dispute.number})
    return dispute


@operation
def request_documents(agency_id: int, number: str, note: str, actor: Actor) -> Dispute:
    """Ask the creditor for the documents that verify the debt (a message to the lender)."""
    dispute = staff_dispute(agency_id, number, lock=True)
    if dispute.status not in rules.OPEN:
        raise Refused(_("This dispute has already been closed."), status=409)
    if dispute.status == D.RECEIVED:
        _move(dispute, D.UNDER_REVIEW)
    dispute.documents_requested_at = datetime.now(UTC)
    note = (note or "").strip()[:NOTE_MAX]
    event = record(actor, EventKind.DISPUTE_DOCUMENTS_REQUESTED, borrower_id=dispute.borrower_id,
                   account_id=dispute.account_id, data={"dispute": dispute.number, "note": note})
    account = dispute.account
    publish("dispute.documents_requested",
            _message(dispute, account, creditor=account.creditor.code, note=note,
                     original_creditor_requested=dispute.wants_original_creditor),
            account_ref=account.reference, case_event_id=event.id)
    return dispute


def record_verification(agency_id: int, number: str, document: tuple[str | None, bytes],
                        delivery: str, actor: Actor) -> Dispute:
    """Verification sent: the document is kept, the borrower told, the dispute hold lifted."""
    if delivery not in DELIVERIES:
        raise Refused(_("Choose how the verification was sent."))
    return _with_files([document],
                       lambda stored: _verified(agency_id, number, stored, delivery, actor))


@operation
def _verified(agency_id: int, number: str, stored, delivery: str, actor: Actor) -> Dispute:
    dispute = staff_dispute(agency_id, number, lock=True)
    _move(dispute, D.VERIFICATION_SENT)
    dispute.verification_sent_at = datetime.now(UTC)
    dispute.verification_delivery = delivery
    _file_rows(dispute, stored, "verification", f"staff:{actor.id}")
    # Only Regulation F's hold ends with verification; the UK's and the agency's end when the
    # dispute is resolved (COMPLIANCE.md), identity theft when the review concludes; and not
    # while the original creditor's name and address, asked for, are still to be sent.
    _ending(dispute, EventKind.DISPUTE_VERIFICATION_SENT, actor, _answered(dispute),
            delivery=delivery)
    account = dispute.account
    _tell(dispute, delivery, messages.dispute_verification(dispute.number),
          messages.dispute_verification_letter(dispute.number, account.reference,
                                               account.creditor.name))
    return dispute


def _tell(dispute: Dispute, delivery: str, email: messages.Message,
          letter: messages.Message) -> None:
    """The borrower told: an email where the rules let it go (recorded regardless); or the
    letter itself, printed and posted through notify, without which nothing is recorded (a
    dispute's answer said to be mailed must be); where no print vendor is configured, the
    agency posts it itself, as before letters were printed here."""
    borrower = db.session.get(Borrower, dispute.borrower_id)
    if delivery == "portal_email":
        notify(borrower, email, account=dispute.account)
        return
    outcome = notify(borrower, letter, account=dispute.account, channel="letter")
    if outcome.status == Told.NO_DESTINATION:
        raise Refused(_("The borrower has no postal address we may write to: send it in the "
                        "portal instead. Nothing was recorded."), status=409)
    if outcome.status == Told.BLOCKED:
        raise Refused(_("A contact rule stops a letter to the borrower now (%(rule)s). Nothing "
                        "was recorded.", rule=outcome.rule), status=409)
    if outcome.status == Told.FAILED:
        raise Refused(_("The letter could not be prepared. Nothing was recorded; please try "
                        "again."), status=503)
    if outcome.status == Told.NO_DELIVERY:
        log.info("%s for dispute %s: no print vendor, posted by the agency", letter.kind,
                 dispute.id)


def _answered(dispute: Dispute) -> list[str]:
    """The holds lifted now that the borrower has what 1006.38 says they must get: verification,
    and the original creditor's name and address if they asked for them (1006.38(c))."""
    if dispute.verification_sent_at is None or (
            dispute.wants_original_creditor and dispute.original_creditor_sent_at is None):
        return []
    return [k for k, rule in dispute.holds.items() if rule in LIFTED_BY_VERIFICATION]


def awaits_original_creditor(dispute: Dispute) -> bool:
    return dispute.wants_original_creditor and dispute.original_creditor_sent_at is None


@operation
def record_original_creditor(agency_id: int, number: str, details: str, delivery: str,
                             actor: Actor) -> Dispute:
    """The original creditor's name and address sent to the borrower who asked (by the portal
    with an email, or by mail): kept encrypted, recorded, and with verification sent too the
    dispute hold lifts (12 CFR 1006.38(c))."""
    if delivery not in DELIVERIES:
        raise Refused(_("Choose how the name and address were sent."))
    details = (details or "").strip()
    if not details:
        raise Refused(_("Give the original creditor's name and address."))
    if len(details) > NOTE_MAX:
        raise Refused(_("Please keep the note under %(n)d characters.", n=NOTE_MAX))
    dispute = staff_dispute(agency_id, number, lock=True)
    if not dispute.wants_original_creditor:
        raise Refused(_("The borrower did not ask for the original creditor's name and "
                        "address."), status=409)
    if dispute.original_creditor_sent_at is not None:
        raise Refused(_("The original creditor's name and address were already sent."),
                      status=409)
    if dispute.status not in rules.OPEN:
        raise Refused(_("This dispute has already been closed."), status=409)
    dispute.original_creditor = details
    dispute.original_creditor_sent_at = datetime.now(UTC)
    _ending(dispute, EventKind.DISPUTE_ORIGINAL_CREDITOR_SENT, actor, _answered(dispute),
            delivery=delivery)
    _tell(dispute, delivery, messages.dispute_original_creditor(dispute.number),
          messages.dispute_original_creditor_letter(dispute.number, dispute.account.reference,
                                                    details))
    return dispute


OUTCOMES = ("upheld", "not_upheld")
ACTIONS = ("adjust", "close", "none")


@operation
def resolve(agency_id: int, number: str, outcome: str, action: str, amount: str | None,
            note: str, actor: Actor) -> Dispute:
    """Decide the dispute. Upheld: credit the disputed amount, or close the account with a credit
    for all of it. Not upheld: with the reason, told to the borrower."""
    dispute = staff_dispute(agency_id, number, lock=True)
    note = (note or "").strip()
    if outcome not in OUTCOMES or action not in ACTIONS:
        raise Refused(_("Choose an outcome from the list."))
    if outcome == "not_upheld" and not note:
        raise Refused(_("Give the reason the dispute was not upheld; the borrower will read it."))
    if len(note) > NOTE_MAX:
        raise Refused(_("Please keep the note under %(n)d characters.", n=NOTE_MAX))
    if outcome == "not_upheld" and dispute.verification_sent_at is None and \
            "us.dispute-pending-verification" in dispute.holds.values():
        # 1006.38(d)(2): collection resumes only after verification is sent.
        raise Refused(_("Record the verification sent to the borrower before deciding that the "
                        "dispute is not upheld."), status=409)
    if outcome == "not_upheld" and awaits_original_creditor(dispute) and \
            "us.dispute-pending-verification" in dispute.holds.values():
        # 1006.38(d)(2): nor before the original creditor's name and address, if asked for.
        raise Refused(_("Record the original creditor's name and address sent to the borrower "
                        "before deciding that the dispute is not upheld."), status=409)
    _move(dispute, D.RESOLVED)
    account = db.session.get(Account, dispute.account_id, with_for_update=True)
    now = datetime.now(UTC)
    credit = None
    if outcome == "upheld" and action != "none":
        balance = ledger.balance_of(account.id, account.currency)
        if action == "close":
            credit = balance.minor
        else:
            try:
                credit = (Money.parse(amount, account.currency).minor if amount
                          else dispute.disputed_minor)
            except MoneyError:
                raise Refused(_("Enter the adjustment as a number, like 50.00.")) from None
            if not credit or credit <= 0 or credit > balance.minor:
                raise Refused(_("The adjustment must be more than zero and no more than the "
                                "balance."))
        if credit > 0:
            ledger.post_credit(account, credit, f"Dispute {dispute.number} upheld", actor, now)
    dispute.outcome, dispute.resolution_note, dispute.resolved_at = outcome, note or None, now
    ending = list(dispute.holds)
    if outcome == "upheld" and action != "close" and "identity-theft" in dispute.holds:
        # The review found the debt is not the borrower's: collecting it stays stopped.
        ending.remove("identity-theft")
    event = _ending(dispute, EventKind.DISPUTE_RESOLVED, actor, ending,
                    # The note (it may quote the borrower) stays on the dispute, not the record.
                    outcome=outcome, action=action, credit_minor=credit, noted=bool(note))
    if outcome == "upheld" and action == "close" and \
            ledger.close(account, actor, "dispute_upheld", dispute=dispute.number):
        contact.reconcile(db.session.get(Borrower, account.borrower_id), actor)
    elif credit and ledger.settle_status(account, actor):
        # An adjustment that clears the balance: paid, and collection stops.
        contact.reconcile(db.session.get(Borrower, account.borrower_id), actor)
    publish("dispute.resolved", _message(dispute, account, outcome=outcome, action=action,
                                         credit_minor=credit),
            account_ref=account.reference, case_event_id=event.id)
    return dispute


def file_of(dispute: Dispute, file_id: int) -> tuple[EvidenceFile, bytes]:
    found = next((f for f in dispute.files if f.id == file_id), None)
    if found is None:
        raise NotFound()
    return found, storage.read(found.stored_name)


def resolution_notes(events) -> dict[int, str]:
    """By event id, the note of each resolution event that had one (kept on the dispute, not in
    the record)."""
    named = {int(e.data["dispute"][2:]): e.id for e in events
             if e.kind == EventKind.DISPUTE_RESOLVED and e.data.get("noted")}
    if not named:
        return {}
    rows = db.session.scalars(select(Dispute).where(Dispute.id.in_(named)))
    return {named[d.id]: d.resolution_note for d in rows if d.resolution_note}
