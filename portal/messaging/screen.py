"""The send-time check of a leased batch: the contact rules asked again for each message, with its
purpose, in a few queries for the whole batch (send_time.judge says what follows), and what follows
done in the lease's own transaction: held messages wait, cancelled and failed ones settle.

The rules are the one owner's (contact/service `snapshots`, rules `decide` and `stopping`), judged
as notify judged them when the message was queued: a message about no one debt against each of the
borrower's accounts; the message's own contact attempt is not counted against it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from portal.accounts.models import Account, Borrower, ContactPoint, Creditor
from portal.cases.kinds import EventKind
from portal.cases.service import record
from portal.contact import rules
from portal.contact import service as contact
from portal.contact.models import ContactAttempt
from portal.contact.rulebook import Purpose
from portal.extensions import db
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.messaging.send_time import SEND, Action, Verdict, judge
from portal.messaging.settle import ACTOR


def _undeliverable(messages: list[OutgoingMessage]) -> set[int]:
    points = {m.contact_point_id for m in messages if m.contact_point_id is not None}
    if not points:
        return set()
    return set(db.session.scalars(select(ContactPoint.id).where(
        ContactPoint.id.in_(points), ContactPoint.undeliverable_at.is_not(None))))


def _judged_accounts(messages: list[OutgoingMessage]) -> dict[int, list[Account]]:
    """The accounts each message is judged against, loaded with what the rules read, at once."""
    account_ids = {m.account_id for m in messages if m.account_id is not None}
    loose = {m.borrower_id for m in messages if m.account_id is None}
    # Only the columns the rules read: a borrower's and an account's other encrypted fields
    # (date of birth, account number) are not decrypted for nothing.
    loading = (load_only(Account.id, Account.borrower_id, Account.creditor_id,
                         Account.validation_notice_sent_at),
               selectinload(Account.borrower).load_only(Borrower.id)
               .selectinload(Borrower.contact_points),
               selectinload(Account.creditor).load_only(Creditor.id, Creditor.agency_id))
    accounts = list(db.session.scalars(select(Account).where(
        Account.id.in_(account_ids) | Account.borrower_id.in_(loose)).options(*loading)))
    by_id = {a.id: a for a in accounts}
    by_borrower: dict[int, list[Account]] = {}
    for a in sorted(accounts, key=lambda a: a.id):
        by_borrower.setdefault(a.borrower_id, []).append(a)
    return {m.id: [by_id[m.account_id]] if m.account_id is not None
            else by_borrower.get(m.borrower_id, []) for m in messages}


def verdicts(messages: list[OutgoingMessage], now: datetime) -> dict[int, Verdict]:
    """Each message's verdict at `now` (send_time.judge), read in a few queries for them all."""
    undeliverable = _undeliverable(messages)
    judged = [m for m in messages if m.purpose != Purpose.ACCESS
              and m.contact_point_id not in undeliverable]
    found = {m.id: judge(m.purpose, (), m.contact_point_id in undeliverable)
             for m in messages if m not in judged}
    if not judged:
        return found
    accounts = _judged_accounts(judged)
    own = frozenset(m.attempt_id for m in judged if m.attempt_id is not None)
    snapshots = contact.snapshots(
        list({a.id: a for each in accounts.values() for a in each}.values()), now, own)
    decided: dict[tuple, tuple[rules.Reason, ...]] = {}
    for m in judged:
        stopping: list[rules.Reason] = []
        for account in accounts[m.id]:
            key = (account.id, m.channel, m.destination, m.purpose)
            if key not in decided:
                decision = rules.decide(snapshots[account.id], m.channel, m.destination, now)
                decided[key] = rules.stopping(decision, Purpose(m.purpose))
            stopping += decided[key]
        found[m.id] = judge(m.purpose, stopping)
    return found


def apply(message: OutgoingMessage, verdict: Verdict, now: datetime) -> bool:
    """Carry out a verdict other than SEND on a leased message, in the lease's transaction;
    True when the message is to be sent now."""
    if verdict == SEND or verdict.action == Action.SEND:
        return True
    if verdict.action == Action.HOLD:
        # Not a try: it was never handed over. Due again when the rule allows.
        message.rule = verdict.rule
        message.next_try_at = verdict.until
        return False
    message.rule = verdict.rule if verdict.action == Action.CANCEL else None
    message.settled_at = now
    if verdict.action == Action.FAIL:
        message.status = OutgoingStatus.FAILED
        message.error_code = verdict.rule
        message.error = "the contact point was marked undeliverable after this was queued"
        outcome = "failed"
    else:
        message.status = OutgoingStatus.CANCELLED
        outcome = contact.CANCELLED
    if message.attempt_id is not None:
        db.session.get(ContactAttempt, message.attempt_id).outcome = outcome
    record(ACTOR, EventKind.MESSAGE_STOPPED, borrower_id=message.borrower_id,
           account_id=message.account_id,
           data={"message": message.id, "kind": message.kind, "channel": message.channel,
                 "rule": verdict.rule})
    return False


def withdraw_queued(account_ids, rule: str, now: datetime) -> int:
    """Cancel the messages about these accounts never handed over (no try: a leased one has
    one), each settled as a send-time cancel is (an import undone: its first letters never
    go); how many."""
    queued = db.session.scalars(
        select(OutgoingMessage).where(OutgoingMessage.account_id.in_(account_ids),
                                      OutgoingMessage.status == OutgoingStatus.QUEUED,
                                      OutgoingMessage.tries == 0)
        .order_by(OutgoingMessage.id).with_for_update()).all()
    for message in queued:
        apply(message, Verdict(Action.CANCEL, rule), now)
    return len(queued)
