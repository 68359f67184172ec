"""Recalls: a creditor takes accounts back, by file (command line) or in the staff console.

A file is read whole and matched against the creditor's accounts by the keyed digest of the
creditor's own id (`account.original_account_number_digest`); an unknown id or a bad row refuses
it, naming each row, and nothing is written. Accepted, every account it names is recalled in one
transaction: the status (the ledger owns it), the `account.recalled` event and webhook, the
`creditor.recalled` hold (contact stops at once), the open plans cancelled (the plans service owns
them; autopay stops with them) and the borrower told. An account recalled already is left as it
is, so the same file twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus, Borrower, Creditor
from portal.cases.service import Actor
from portal.contact import service as contact
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.messaging import messages
from portal.messaging.notify import notify
from portal.operations import NotFound, Refused, operation, reading
from portal.outbox.service import publish
from portal.placements import recall_file
from portal.placements.recall_file import Problem
from portal.plans import service as plans

DIGEST_PURPOSE = "account.original_account_number"
#: Digests asked for in one query.
CHUNK = 5000


@dataclass(frozen=True)
class Match:
    """One row of the file and the account it names."""

    row: int
    masked_id: str
    account_id: int
    reference: str
    status: str


@dataclass
class Review:
    """What a recall file would do (or did): by account, and every problem."""

    creditor_code: str
    creditor_name: str
    sha256: str
    recall: list[Match] = field(default_factory=list)
    #: Recalled before (by an earlier file or this one): left as they are.
    already: list[Match] = field(default_factory=list)
    #: Closed (a final state): no longer collected, left as they are.
    closed: list[Match] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: After the recall: the borrowers told their plans were cancelled, by reference, with how
    #: (`sent`, or why not: `blocked`, `no_destination`...).
    told: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.problems


class RecallRefused(Refused):
    """The file has bad rows or unknown ids: nothing was written; the review names each."""

    def __init__(self, review: Review):
        super().__init__(_("The recall file was refused: %(n)d problem(s). Nothing was changed.",
                           n=len(review.problems)))
        self.review = review


def creditor_of(code: str, agency_id: int | None) -> Creditor:
    """The creditor by code, among the agency's (None: any, for the command line)."""
    query = select(Creditor).where(Creditor.code == (code or "").strip().upper())
    if agency_id is not None:
        query = query.where(Creditor.agency_id == agency_id)
    creditor = db.session.scalar(query)
    if creditor is None:
        raise NotFound()
    return creditor


def creditors_of(agency_id: int) -> list[Creditor]:
    return list(db.session.scalars(select(Creditor).where(Creditor.agency_id == agency_id)
                                   .order_by(Creditor.name)))


def _by_digest(creditor_id: int, ids: list[str], lock: bool) -> dict[bytes, list[Account]]:
    digests = [lookup_digest(value, DIGEST_PURPOSE) for value in ids]
    found: dict[bytes, list[Account]] = defaultdict(list)
    for start in range(0, len(digests), CHUNK):
        query = (select(Account).where(
            Account.creditor_id == creditor_id,
            Account.original_account_number_digest.in_(digests[start:start + CHUNK]))
            .order_by(Account.id))
        for account in db.session.scalars(query.with_for_update() if lock else query):
            found[account.original_account_number_digest].append(account)
    return found


def _review(data: bytes, creditor: Creditor, lock: bool) -> Review:
    read = recall_file.read(data)
    review = Review(creditor.code, creditor.name, read.sha256, problems=list(read.problems))
    found = _by_digest(creditor.id, [value for _row, value in read.ids], lock)
    for row, value in read.ids:
        accounts = found.get(lookup_digest(value, DIGEST_PURPOSE), [])
        if not accounts:
            review.problems.append(Problem(row, "unknown"))
            continue
        if len(accounts) > 1:
            review.problems.append(Problem(row, "several",
                                           refs=", ".join(a.reference for a in accounts)))
            continue
        account = accounts[0]
        match = Match(row, recall_file.masked(value), account.id, account.reference,
                      account.status)
        if account.status == AccountStatus.RECALLED:
            review.already.append(match)
        elif account.status == AccountStatus.CLOSED:
            review.closed.append(match)
        else:
            review.recall.append(match)
    review.problems.sort(key=lambda p: (p.row or 0))
    return review


def preview(data: bytes, creditor_code: str, agency_id: int | None = None) -> Review:
    """What the file would do, written nowhere."""
    with reading("recall preview"):
        return _review(data, creditor_of(creditor_code, agency_id), lock=False)


@operation
def recall_file_of(data: bytes, creditor_code: str, actor: Actor, agency_id: int | None = None,
                   now: datetime | None = None) -> Review:
    """Recall every account the file names, in one transaction, or raise RecallRefused."""
    creditor = creditor_of(creditor_code, agency_id)
    review = _review(data, creditor, lock=True)
    if not review.accepted:
        raise RecallRefused(review)
    _recall_all(review, creditor, actor, now or datetime.now(UTC))
    return review


@operation
def recall_previewed(creditor_code: str, references: list[str], sha256: str, actor: Actor,
                     agency_id: int, now: datetime | None = None) -> Review:
    """The console's confirmation of a preview: recall the accounts it showed, by agency
    reference (the page never carries the creditor's ids), each checked again to be the
    creditor's and the agency's, locked."""
    creditor = creditor_of(creditor_code, agency_id)
    wanted = sorted(set(references))
    review = Review(creditor.code, creditor.name, sha256)
    if not wanted:
        raise Refused(_("There is nothing to recall in this file."))
    accounts = {a.reference: a for a in db.session.scalars(
        select(Account).where(Account.creditor_id == creditor.id, Account.reference.in_(wanted))
        .order_by(Account.id).with_for_update())}
    if len(accounts) != len(wanted):
        raise Refused(_("These accounts are not all this creditor's. Upload the file again."),
                      status=409)
    for row, reference in enumerate(wanted, start=2):
        account = accounts[reference]
        match = Match(row, "", account.id, reference, account.status)
        (review.already if account.status == AccountStatus.RECALLED
         else review.closed if account.status == AccountStatus.CLOSED
         else review.recall).append(match)
    _recall_all(review, creditor, actor, now or datetime.now(UTC))
    return review


def _recall_all(review: Review, creditor: Creditor, actor: Actor, now: datetime) -> None:
    for match in review.recall:
        account = db.session.scalar(select(Account).where(Account.id == match.account_id)
                                    .options(selectinload(Account.creditor)))
        told = _recall_one(account, creditor, review.sha256, actor, now)
        if told is not None:
            review.told[account.reference] = told


def contact_lines(creditor: Creditor) -> str:
    """Whom the borrower contacts now, on one line (a message) — the page shows them apart."""
    parts = [creditor.name, creditor.phone, creditor.website,
             (creditor.postal_address or "").replace("\n", ", ") or None]
    return "; ".join(p for p in parts if p)


def _recall_one(account: Account, creditor: Creditor, sha256: str, actor: Actor,
                now: datetime) -> str | None:
    """One account back to its creditor; the outcome of telling the borrower, if there was a
    plan to cancel."""
    event = ledger.recall(account, actor, now, file=sha256)
    if event is None:
        return None
    cancelled = plans.cancel_for_recall(account, actor, now)
    borrower = db.session.get(Borrower, account.borrower_id)
    contact.reconcile(borrower, actor, now)
    publish("account.recalled", {
        "account_ref": account.reference, "creditor": creditor.code,
        "recalled_at": now.isoformat(), "plans_canceled": [p.number for p in cancelled],
    }, account_ref=account.reference, case_event_id=event.id)
    if not cancelled:
        return None
    # After the hold is in force: the rulebook's `creditor.recalled` lets this notice through
    # (our efforts end), and every other rule still has its say. An email the rules hold back
    # now (at night where the borrower is) goes as a letter, which no hour stops: the borrower
    # must learn that no more payments are taken.
    message = messages.recalled_plans_cancelled(
        account.reference, creditor.name, [p.number for p in cancelled], contact_lines(creditor))
    outcome = notify(borrower, message, account=account, at=now)
    if outcome.sent:
        return "email"
    by_letter = notify(borrower, message, account=account, channel="letter", at=now)
    if by_letter.sent:
        return "letter"
    return f"not sent: {by_letter.status}" + (f" ({by_letter.rule})" if by_letter.rule else "")


def recalled_lately(agency_id: int, limit: int = 50) -> list[Account]:
    """The agency's accounts recalled most recently (the console's list)."""
    return list(db.session.scalars(
        select(Account).join(Creditor, Creditor.id == Account.creditor_id)
        .where(Creditor.agency_id == agency_id, Account.status == AccountStatus.RECALLED)
        .options(selectinload(Account.creditor))
        .order_by(Account.recalled_at.desc(), Account.id.desc()).limit(limit)))
