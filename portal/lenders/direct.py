"""Payments a borrower made to the lender directly, as the lender reports them (the portal's
form, a CSV file, the API): the balance drops by a ledger entry with its case events, and the
agency's commission on it goes on the next statement (invoiced or withheld by the method)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts import ledger
from portal.accounts.models import Account, AccountStatus
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.lenders.models import DirectPayment
from portal.money import Money, MoneyError
from portal.operations import Refused, operation

CSV_COLUMNS = ("account_ref", "amount", "paid_on", "reference")
#: Rows one CSV file may report.
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Report:
    """One payment as the lender reports it: amount a decimal string in the account's currency."""

    account_ref: str
    amount: str
    paid_on: date
    reference: str | None = None


def _record(creditor_ids: list[int], report: Report, actor: Actor, reported_by: str,
            now: datetime) -> DirectPayment:
    account = db.session.scalar(select(Account).where(
        Account.reference == report.account_ref.strip(), Account.creditor_id.in_(creditor_ids))
        .with_for_update())
    if account is None:
        raise Refused(_("No account %(ref)s of yours.", ref=report.account_ref), status=404)
    try:
        amount = Money.parse(report.amount, account.currency)
    except MoneyError:
        raise Refused(_("%(amount)s is not an amount in %(currency)s.", amount=report.amount,
                         currency=account.currency)) from None
    if amount.minor <= 0:
        raise Refused(_("The amount is more than zero."))
    if report.paid_on > now.date():
        raise Refused(_("A payment cannot be reported for a day still to come."))
    if report.paid_on < account.placed_at.date():
        raise Refused(_("A payment before the account was placed is in the placement's "
                        "balance, not reported here."))
    if account.status not in (AccountStatus.OPEN,):
        raise Refused(_("%(ref)s is not open: nothing is owed to report against.",
                        ref=account.reference))
    owed = ledger.balance_of(account.id, account.currency)
    if amount.minor > owed.minor:
        raise Refused(_("%(amount)s is more than the balance of %(ref)s (%(owed)s).",
                        amount=str(amount), ref=account.reference, owed=str(owed)))
    reference = (report.reference or "").strip() or None
    if reference and db.session.scalar(select(DirectPayment.id).where(
            DirectPayment.account_id == account.id, DirectPayment.lender_reference == reference)):
        raise Refused(_("A payment %(reference)s on %(ref)s is reported already.",
                        reference=reference, ref=account.reference), status=409)
    entry = ledger.post_direct_payment(account, amount.minor,
                                       "Payment made to the creditor directly", actor, now,
                                       report.paid_on)
    row = DirectPayment(account_id=account.id, amount_minor=amount.minor,
                        currency=account.currency, paid_on=report.paid_on, reported_at=now,
                        reported_by=reported_by, lender_reference=reference,
                        ledger_entry_id=entry.id)
    db.session.add(row)
    db.session.flush()
    record(actor, EventKind.DIRECT_PAYMENT_REPORTED, borrower_id=account.borrower_id,
           account_id=account.id, data={"direct_payment": row.id, "amount_minor": amount.minor,
                                        "currency": account.currency,
                                        "paid_on": report.paid_on.isoformat()})
    ledger.settle_status(account, actor, now)
    return row


@operation
def report(creditor_ids: list[int], found: Report, actor: Actor,
           reported_by: str) -> DirectPayment:
    """Report one direct payment (refused whole, nothing written, when anything is wrong)."""
    return _record(creditor_ids, found, actor, reported_by, datetime.now(UTC))


class BadFile(Refused):
    """A CSV file with bad rows: each named, nothing written."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:20]))
        self.problems = problems


def read_csv(data: bytes) -> list[Report]:
    """The rows of a CSV file (header account_ref,amount,paid_on,reference); a bad file or row
    is refused with every problem named by line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFile([_("The file is not UTF-8 text.")]) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise BadFile([_("The header lacks %(columns)s.", columns=", ".join(missing))])
    found, problems = [], []
    for line, row in enumerate(reader, start=2):
        if len(found) >= MAX_ROWS:
            raise BadFile([_("More than %(count)s rows: split the file.", count=MAX_ROWS)])
        try:
            found.append(Report(row["account_ref"] or "", row["amount"] or "",
                                date.fromisoformat((row["paid_on"] or "").strip()),
                                row.get("reference")))
        except ValueError:
            problems.append(_("Line %(line)s: paid_on is a date YYYY-MM-DD.", line=line))
    if problems:
        raise BadFile(problems)
    if not found:
        raise BadFile([_("The file has no rows.")])
    return found


@operation
def report_file(creditor_ids: list[int], rows: list[Report], actor: Actor,
                reported_by: str) -> list[DirectPayment]:
    """Report every row of a file, or none: a bad row refuses the file, naming each bad line."""
    now = datetime.now(UTC)
    done, problems = [], []
    for line, found in enumerate(rows, start=2):
        try:
            with db.session.begin_nested():
                done.append(_record(creditor_ids, found, actor, reported_by, now))
        except Refused as refused:
            problems.append(_("Line %(line)s: %(problem)s", line=line, problem=refused.message))
    if problems:
        raise BadFile(problems)
    return done
