"""Plans: propose (decided at once by the creditor's policy), ask for a person, accept, and staff
decisions; each one transaction with its case event, its holds and its webhook."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from portal import numbers
from portal.accounts.ledger import balance_of
from portal.accounts.models import Account, AccountStatus, Borrower, Creditor
from portal.accounts.service import own_account
from portal.agency.scope import within
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact import service as contact
from portal.extensions import db
from portal.identity.audit import AuditKind, audit
from portal.money import Money, MoneyError
from portal.operations import NotFound, Refused, operation
from portal.outbox.service import publish
from portal.plans import affordability, policy, schedule
from portal.plans.models import (
    PLAN,
    CreditorPlanPolicy,
    Installment,
    InstallmentStatus,
    PaymentPlan,
    PlanStatus,
)

HARDSHIP_REASONS = ("job_loss", "illness", "bereavement", "other")
#: How long `policy.hardship-review` pauses contact while a person looks (COMPLIANCE.md).
HARDSHIP_REVIEW_DAYS = 14
#: A person answers a referred proposal within this many days (shown to the borrower).
REVIEW_DAYS = 5
#: The latest a first payment may be (from today).
FIRST_DUE_WITHIN_DAYS = 31
#: Plan holds: collection calls and texts pause; the plan's own reminders go by email.
GOOD_STANDING_CHANNELS = ["call", "sms"]


def policy_of(creditor_id: int) -> policy.PlanPolicy:
    row = db.session.get(CreditorPlanPolicy, creditor_id)
    if row is None:
        return policy.PlanPolicy()
    data = dict(row.data)
    floors = tuple(policy.SettlementFloor(**f) for f in data.pop("settlement_floors", []))
    return policy.PlanPolicy(**data, **({"settlement_floors": floors} if floors else {}))


def _replace_policy(creditor_id: int, values: dict,
                    actor: Actor) -> tuple[policy.PlanPolicy, policy.PlanPolicy]:
    """Check and store a creditor's new plan policy in the caller's transaction: (before,
    after)."""
    try:
        floors = tuple(policy.SettlementFloor(**f) for f in values.get("settlement_floors", []))
        built = policy.PlanPolicy(**{k: v for k, v in values.items()
                                     if k != "settlement_floors"},
                                  **({"settlement_floors": floors} if floors else {}))
    except TypeError as exc:
        raise Refused(f"not a plan policy field: {exc}") from None
    problems = [name for name, value in asdict(built).items()
                if name != "settlement_floors" and name != "missed_extend_plan"
                and (not isinstance(value, int) or isinstance(value, bool) or value < 0)]
    if problems or built.max_months < 1 or built.hardship_max_months < 1 or not all(
            isinstance(f.min_age_days, int) and isinstance(f.percent, int)
            and 0 < f.percent <= 100 and f.min_age_days >= 0 for f in built.settlement_floors):
        raise Refused(f"a plan policy needs whole, non-negative numbers (months at least 1, "
                      f"percentages 1-100): check {', '.join(problems) or 'the limits'}")
    before = policy_of(creditor_id)
    row = db.session.get(CreditorPlanPolicy, creditor_id)
    data = asdict(built)
    now = datetime.now(UTC)
    if row is None:
        db.session.add(CreditorPlanPolicy(creditor_id=creditor_id, data=data, updated_at=now,
                                          updated_by=f"{actor.type}:{actor.id}"))
    else:
        row.data, row.updated_at, row.updated_by = data, now, f"{actor.type}:{actor.id}"
    return before, built


def _policy_change(before: policy.PlanPolicy, after: policy.PlanPolicy) -> dict:
    """What the audit log keeps of a change: the fields that changed, before and after."""
    old, new = asdict(before), asdict(after)
    return {"before": {k: old[k] for k in old if old[k] != new[k]},
            "after": {k: new[k] for k in new if old[k] != new[k]}}


@operation
def set_policy(creditor_id: int, values: dict, actor: Actor) -> policy.PlanPolicy:
    """Replace a creditor's plan policy (checked by building it); the command line's way, kept
    in the agency's staff audit log as done by no one in the console."""
    before, built = _replace_policy(creditor_id, values, actor)
    creditor = db.session.get(Creditor, creditor_id)
    if creditor.agency_id is not None:
        audit(AuditKind.PLAN_POLICY_CHANGED, agency_id=creditor.agency_id,
              detail={"creditor": creditor.code, "by": f"{actor.type}:{actor.id}",
                      **_policy_change(before, built)})
    return built


@operation
def edit_policy(agency_id: int, creditor_code: str, values: dict, staff_id: int,
                source: str | None) -> policy.PlanPolicy:
    """A staff member changes one of their agency's creditors' plan policy on its page; the
    change goes in the staff audit log with what it was before. Another agency's: not found."""
    creditor = db.session.scalar(select(Creditor).where(
        Creditor.code == creditor_code, Creditor.agency_id == agency_id))
    if creditor is None:
        raise NotFound()
    before, built = _replace_policy(creditor.id, values, Actor("staff", str(staff_id), source))
    audit(AuditKind.PLAN_POLICY_CHANGED, agency_id=agency_id, actor_id=staff_id,
          source=source, detail={"creditor": creditor.code, **_policy_change(before, built)})
    return built


def _age_days(account: Account, today: date) -> int:
    start = account.charge_off_date or account.itemization_date
    return max((today - start).days, 0)


@dataclass(frozen=True)
class Ask:
    """What the borrower typed in the calculator, as the view read it (amounts as text)."""

    kind: str
    monthly: str | None = None
    months: str | None = None
    settlement: str | None = None
    first_due: date | None = None
    pause_days: str | None = None
    hardship_reason: str | None = None
    hardship_details: str | None = None
    budget: dict | None = None  # {"income": "2400", ...} in major units, as typed


@dataclass(frozen=True)
class Preview:
    """The calculator's answer: the proposal, its schedule and the decision it would get."""

    proposal: policy.Proposal
    dues: list[schedule.Due]
    decision: policy.Decision
    suggestion: affordability.Suggestion | None
    budget: affordability.Budget | None
    first_due: date


def _amount(text: str | None, currency: str, what: str) -> int | None:
    if text is None or not str(text).strip():
        return None
    try:
        value = Money.parse(text, currency).minor
    except MoneyError:
        raise Refused(_("Enter %(what)s as a number, like 50.00.", what=what)) from None
    if value < 0:
        raise Refused(_("Enter %(what)s as a number, like 50.00.", what=what))
    return value


def _count(text: str | None, what: str, largest: int) -> int | None:
    if text is None or not str(text).strip():
        return None
    digits = str(text).strip()
    # ASCII digits only: "²" or "١٢" pass str.isdigit() but are not numbers a person typed here.
    if not re.fullmatch(r"[0-9]{1,4}", digits) or not 0 < int(digits) <= largest:
        raise Refused(_("Enter %(what)s as a whole number from 1 to %(n)d.", what=what, n=largest))
    return int(digits)


def _budget(ask: Ask, currency: str) -> affordability.Budget | None:
    if not ask.budget or not any(str(v or "").strip() for v in ask.budget.values()):
        return None
    parts = {c: _amount(ask.budget.get(c), currency, _("each budget amount")) or 0
             for c in affordability.CATEGORIES}
    return affordability.Budget(**parts)


def preview(account: Account, ask: Ask, today: date) -> Preview:
    """Read the calculator, build the schedule and decide, without writing anything."""
    rules = policy_of(account.creditor_id)
    balance = balance_of(account.id, account.currency).minor
    currency = account.currency
    if ask.kind not in tuple(policy.Kind):
        raise Refused(_("Choose the kind of plan."))
    first_due = ask.first_due or today + timedelta(days=7)
    if not today <= first_due <= today + timedelta(days=FIRST_DUE_WITHIN_DAYS):
        raise Refused(_("Choose a first payment date within the next %(n)d days.",
                        n=FIRST_DUE_WITHIN_DAYS))
    budget = _budget(ask, currency)
    suggestion = (affordability.suggest(budget, balance, rules.max_months,
                                        rules.minimum_monthly(balance)) if budget else None)
    kind = policy.Kind(ask.kind)
    monthly = _amount(ask.monthly, currency, _("the monthly amount"))
    months = _count(ask.months, _("the number of months"), 120)
    settlement = _amount(ask.settlement, currency, _("the settlement offer"))
    pause = _count(ask.pause_days, _("the days to pause"), 365)
    if kind == policy.Kind.INSTALLMENTS and not (monthly or months):
        if suggestion and suggestion.monthly:
            monthly = suggestion.monthly
        else:
            raise Refused(_("Enter a monthly amount or a number of months."))
    if kind == policy.Kind.SETTLEMENT and not settlement:
        raise Refused(_("Enter the amount you can pay once."))
    if kind == policy.Kind.HARDSHIP and ask.hardship_reason not in HARDSHIP_REASONS:
        raise Refused(_("Tell us what has happened: choose a reason."))
    if monthly is not None and monthly > balance:
        monthly = balance
    proposal = policy.Proposal(kind, balance, monthly=monthly, months=months,
                               settlement=settlement, pause_days=pause,
                               affordable=suggestion.available if suggestion else None)
    decision = policy.decide(rules, proposal, _age_days(account, today))
    return Preview(proposal, _dues(proposal, first_due), decision, suggestion, budget, first_due)


def _dues(p: policy.Proposal, first_due: date) -> list[schedule.Due]:
    if p.balance <= 0:
        return []
    if p.kind == policy.Kind.SETTLEMENT:
        return schedule.lump(min(p.settlement, p.balance), first_due) if p.settlement else []
    if p.kind == policy.Kind.HARDSHIP:
        start = first_due + timedelta(days=p.pause_days or 0)
        if p.monthly:
            return schedule.by_amount(p.balance, p.monthly, start)
        if p.months:
            return schedule.by_count(p.balance, p.months, start)
        return []
    if p.monthly:
        return schedule.by_amount(p.balance, p.monthly, first_due)
    return schedule.by_count(p.balance, p.months, first_due)


def _own_account(borrower_id: int, reference: str) -> Account:
    return own_account(borrower_id, reference, lock=True)


def _decision_data(decision: policy.Decision, by: str) -> dict:
    return {"outcome": str(decision.outcome), "by": by,
            "reasons": [{"code": r.code, "figures": r.figures} for r in decision.reasons],
            "counter": _proposal_data(decision.counter) if decision.counter else None}


def _proposal_data(p: policy.Proposal) -> dict:
    return {"kind": str(p.kind), "monthly": p.monthly, "months": p.months,
            "settlement": p.settlement, "pause_days": p.pause_days}


def _message(plan: PaymentPlan, **extra) -> dict:
    return {"account_ref": plan.account.reference, "plan": plan.number, "kind": plan.kind,
            "status": plan.status, "total_minor": plan.total_minor, "currency": plan.currency,
            "monthly_minor": plan.monthly_minor, "months": plan.months, **extra}


def _status_of(outcome: policy.Outcome) -> PlanStatus:
    return PlanStatus(str(outcome))


@operation
def propose(borrower_id: int, reference: str, ask: Ask, actor: Actor) -> PaymentPlan:
    account = _own_account(borrower_id, reference)
    if account.status != AccountStatus.OPEN:
        raise Refused(_("This account is not open for a plan."))
    if ask.hardship_details and len(ask.hardship_details) > 2000:
        raise Refused(_("Please keep your explanation under %(n)d characters.", n=2000))
    if _active_plan(account.id) is not None:
        raise Refused(_("This account already has a plan running. Change it from the plan's "
                        "page, or ask us for help."), status=409)
    today = datetime.now(UTC).date()
    seen = preview(account, ask, today)
    replaced = _close_open_proposals(account.id, actor)
    p, now = seen.proposal, datetime.now(UTC)
    total = min(p.settlement, p.balance) if p.kind == policy.Kind.SETTLEMENT else p.balance
    monthly = seen.dues[0].amount if seen.dues and p.kind != policy.Kind.SETTLEMENT else None
    plan = PaymentPlan(
        borrower_id=borrower_id, account_id=account.id, kind=str(p.kind),
        status=_status_of(seen.decision.outcome), currency=account.currency,
        balance_minor=p.balance, total_minor=total, monthly_minor=monthly,
        months=len(seen.dues) or None, pause_days=p.pause_days, first_due=seen.first_due,
        hardship_reason=ask.hardship_reason if p.kind == policy.Kind.HARDSHIP else None,
        hardship_details=(ask.hardship_details or "").strip() or None,
        budget=json.dumps(asdict(seen.budget)) if seen.budget else None,
        decision=dict(_decision_data(seen.decision, "rules"),
                      # The schedule is rebuilt as the calculator built it: equal parts over a
                      # number of months, or a monthly amount with the rest last.
                      basis="monthly" if p.monthly else "months"),
        decided_at=now, created_at=now)
    db.session.add(plan)
    db.session.flush()
    holds = []
    if p.kind == policy.Kind.HARDSHIP:
        # One review pause per account: a new hardship request replaces the open one and keeps
        # its pause (it does not start another 14 days).
        running = next((r for r in replaced if r.kind == "hardship"), None)
        pause = {"until": (running.created_at + timedelta(days=HARDSHIP_REVIEW_DAYS))
                 .isoformat()} if running else {"days": HARDSHIP_REVIEW_DAYS}
        holds.append({"key": f"plan:{plan.number}:hardship", "rule": "policy.hardship-review",
                      **pause})
    event = record(actor, EventKind.PLAN_PROPOSED, borrower_id=borrower_id,
                   account_id=account.id, at=now,
                   data={"plan": plan.number, "account_id": account.id,
                         "proposal": _proposal_data(p), "decision": plan.decision,
                         "budget_checked": seen.budget is not None, "hold_starts": holds})
    if holds:
        contact.reconcile(account.borrower, actor)
    publish("plan.proposed", _message(plan, outcome=plan.decision["outcome"]),
            account_ref=account.reference, case_event_id=event.id)
    return plan


OPEN_PROPOSALS = (PlanStatus.APPROVED, PlanStatus.COUNTERED, PlanStatus.REFERRED)


def _active_plan(account_id: int) -> PaymentPlan | None:
    return db.session.scalar(select(PaymentPlan).where(
        PaymentPlan.account_id == account_id, PaymentPlan.status == PlanStatus.ACTIVE))


def _close_open_proposals(account_id: int, actor: Actor) -> list[PaymentPlan]:
    """A new proposal replaces the account's open ones (one plan per account at a time); a
    replaced hardship request's review pause ends with it."""
    replaced = list(db.session.scalars(select(PaymentPlan).where(
        PaymentPlan.account_id == account_id,
        PaymentPlan.status.in_([str(s) for s in OPEN_PROPOSALS])).with_for_update()))
    now = datetime.now(UTC)
    for old in replaced:
        PLAN.move(old, PlanStatus.CANCELED)
        old.ended_at = now
        ends = [f"plan:{old.number}:hardship"] if old.kind == "hardship" else []
        event = record(actor, EventKind.PLAN_CHANGED, borrower_id=old.borrower_id,
                       account_id=account_id,
                       data={"plan": old.number, "account_id": account_id,
                             "change": "replaced by a new proposal", "hold_ends": ends})
        publish("plan.changed", _message(old, change="replaced"),
                account_ref=old.account.reference, case_event_id=event.id)
    return replaced


#: The plans a recall ends: every proposal still open and the running plan.
ENDED_BY_RECALL = (*OPEN_PROPOSALS, PlanStatus.ACTIVE)


def cancel_for_recall(account: Account, actor: Actor, now: datetime) -> list[PaymentPlan]:
    """In the recall's transaction: cancel the account's open and active plans (autopay stops
    with them: only active plans are charged), ending their holds; each a case event and a
    `plan.changed` webhook. The caller reconciles the holds and tells the borrower."""
    ended = list(db.session.scalars(select(PaymentPlan).where(
        PaymentPlan.account_id == account.id,
        PaymentPlan.status.in_([str(s) for s in ENDED_BY_RECALL]))
        .order_by(PaymentPlan.id).with_for_update()))
    for plan in ended:
        was_active = plan.status == PlanStatus.ACTIVE
        PLAN.move(plan, PlanStatus.CANCELED)
        plan.ended_at = now
        ends = [f"plan:{plan.number}", f"plan:{plan.number}:hardship"]
        event = record(actor, EventKind.PLAN_CHANGED, borrower_id=plan.borrower_id,
                       account_id=account.id, at=now,
                       data={"plan": plan.number, "account_id": account.id,
                             "change": "canceled_by_recall", "was_active": was_active,
                             "autopay": plan.autopay, "hold_ends": ends})
        publish("plan.changed", _message(plan, change="canceled_by_recall", autopay=plan.autopay),
                account_ref=account.reference, case_event_id=event.id)
    return ended


def own_plan(borrower_id: int, number: str, lock: bool = False) -> PaymentPlan:
    return numbers.row_of(PaymentPlan, "P", number, PaymentPlan.borrower_id == borrower_id,
                          lock=lock)


def plans_of(borrower_id: int, account_id: int) -> list[PaymentPlan]:
    return list(db.session.scalars(select(PaymentPlan).where(
        PaymentPlan.borrower_id == borrower_id, PaymentPlan.account_id == account_id)
        .order_by(PaymentPlan.created_at.desc())))


@operation
def request_review(borrower_id: int, number: str, actor: Actor) -> PaymentPlan:
    """A person looks again at an automatic decision (PIPL art. 24; CONC 7.3)."""
    plan = own_plan(borrower_id, number, lock=True)
    if plan.status not in (PlanStatus.APPROVED, PlanStatus.COUNTERED, PlanStatus.DECLINED) \
            or plan.decision.get("by") != "rules":
        raise Refused(_("This proposal is already with a person, or already settled."),
                      status=409)
    was = plan.decision["outcome"]
    PLAN.move(plan, PlanStatus.REFERRED)
    plan.review_requested_at = datetime.now(UTC)
    event = record(actor, EventKind.PLAN_REVIEW_REQUESTED, borrower_id=borrower_id,
                   account_id=plan.account_id, data={"plan": plan.number, "was": was})
    publish("plan.decided", _message(plan, outcome="referred", was=was, by="borrower asked"),
            account_ref=plan.account.reference, case_event_id=event.id)
    return plan


@operation
def accept_counter(borrower_id: int, number: str, actor: Actor) -> PaymentPlan:
    """One tap: the counter-offer becomes an approved proposal of its own."""
    plan = own_plan(borrower_id, number, lock=True)
    counter = plan.decision.get("counter")
    if plan.status != PlanStatus.COUNTERED or not counter:
        raise Refused(_("There is no offer to accept on this proposal."), status=409)
    p = policy.Proposal(policy.Kind(counter["kind"]), plan.balance_minor,
                        monthly=counter["monthly"], months=counter["months"],
                        settlement=counter["settlement"])
    dues = _dues(p, plan.first_due)
    PLAN.move(plan, PlanStatus.APPROVED)
    plan.total_minor = (min(p.settlement, p.balance) if p.kind == policy.Kind.SETTLEMENT
                        else p.balance)
    plan.monthly_minor = dues[0].amount if p.kind != policy.Kind.SETTLEMENT else None
    plan.months = len(dues)
    plan.decision = dict(plan.decision, outcome="approved", accepted_counter=True,
                         basis="monthly" if p.monthly else "months")
    event = record(actor, EventKind.PLAN_DECIDED, borrower_id=borrower_id,
                   account_id=plan.account_id,
                   data={"plan": plan.number, "outcome": "approved",
                         "by": "borrower accepted counter"})
    publish("plan.decided", _message(plan, outcome="approved", by="borrower accepted counter"),
            account_ref=plan.account.reference, case_event_id=event.id)
    return plan


CONSENT = ("I authorise {creditor}, through the agency, to charge my card {amount} on the "
           "{day} of each month from {first} until {last} ({count} payments, {total} in all) "
           "for account {account}. I can cancel autopay or change the payment date at any "
           "time in the portal; cancelling autopay does not cancel the plan.")


def schedule_of(plan: PaymentPlan) -> list[schedule.Due]:
    if plan.installments:
        return [schedule.Due(i.number, i.due_on, i.amount_minor) for i in plan.installments]
    if plan.kind == "settlement":
        return schedule.lump(plan.total_minor, plan.first_due)
    start = plan.first_due + timedelta(days=plan.pause_days or 0)
    if plan.decision.get("basis") == "months" and plan.months:
        return schedule.by_count(plan.total_minor, plan.months, start)
    if plan.monthly_minor:
        return schedule.by_amount(plan.total_minor, plan.monthly_minor, start)
    return []


@operation
def accept(borrower_id: int, number: str, autopay: bool, consent_text: str | None,
           actor: Actor) -> PaymentPlan:
    """The plan starts: installments written, the good-standing hold in force, the webhook."""
    plan = own_plan(borrower_id, number, lock=True)
    if plan.status != PlanStatus.APPROVED:
        raise Refused(_("Only an approved plan can be accepted."), status=409)
    account = db.session.get(Account, plan.account_id, with_for_update=True)
    if account.status != AccountStatus.OPEN or _active_plan(account.id) is not None:
        raise Refused(_("This account already has a plan running, or is no longer open."),
                      status=409)
    dues = schedule_of(plan)
    if not dues:
        raise Refused(_("This plan has no payments to schedule; a person will contact you."))
    if autopay and not plan.payment_method_id:
        raise Refused(_("Save a card first, or choose to pay each installment yourself."))
    now = datetime.now(UTC)
    PLAN.move(plan, PlanStatus.ACTIVE)
    plan.accepted_at, plan.autopay = now, autopay
    if autopay:
        plan.consent_text, plan.consent_source = consent_text, actor.source
    for due in dues:
        db.session.add(Installment(plan_id=plan.id, number=due.number, due_on=due.on,
                                   amount_minor=due.amount, status=InstallmentStatus.SCHEDULED))
    holds = [{"key": f"plan:{plan.number}", "rule": "policy.plan-in-good-standing",
              "channels": GOOD_STANDING_CHANNELS}]
    ends = [f"plan:{p.number}:hardship" for p in [plan]] if plan.kind == "hardship" else []
    event = record(actor, EventKind.PLAN_ACCEPTED, borrower_id=borrower_id,
                   account_id=plan.account_id, at=now,
                   data={"plan": plan.number, "account_id": plan.account_id, "autopay": autopay,
                         "schedule": [[d.on.isoformat(), d.amount] for d in dues],
                         "hold_starts": holds, "hold_ends": ends})
    contact.reconcile(db.session.get(Borrower, borrower_id), actor)
    publish("plan.accepted", _message(plan, autopay=autopay,
                                      schedule=[[d.on.isoformat(), d.amount] for d in dues]),
            account_ref=plan.account.reference, case_event_id=event.id)
    return plan


# --- staff ---------------------------------------------------------------------------------------


def staff_plan(agency_id: int, number: str, lock: bool = False) -> PaymentPlan:
    """A plan on one of the staff member's agency's accounts; another agency's is 404."""
    return numbers.row_of(PaymentPlan, "P", number, within(agency_id, PaymentPlan.account_id),
                          lock=lock)


@operation
def open_for_staff(agency_id: int, number: str, actor: Actor, role: str) -> PaymentPlan:
    """Staff open a plan: its hardship reasons and budget are personal data, so the view is
    recorded, as a dispute's is."""
    plan = staff_plan(agency_id, number)
    record(actor, EventKind.STAFF_VIEWED, borrower_id=plan.borrower_id,
           account_id=plan.account_id, data={"view": "plan", "plan": plan.number, "role": role})
    return plan


@operation
def staff_decide(agency_id: int, number: str, outcome: str, monthly: str | None,
                 months: str | None, settlement: str | None, note: str,
                 actor: Actor) -> PaymentPlan:
    """A person approves, counters (with the plan offered) or declines (with the reason)."""
    plan = staff_plan(agency_id, number, lock=True)
    if plan.status != PlanStatus.REFERRED:
        raise Refused(_("This proposal is not waiting for a decision."), status=409)
    note = (note or "").strip()[:1000]
    if outcome not in ("approved", "countered", "declined"):
        raise Refused(_("Choose approve, counter or decline."))
    if outcome == "declined" and not note:
        raise Refused(_("Give the reason; the borrower will read it."))
    counter = None
    if outcome == "countered":
        p = policy.Proposal(policy.Kind(plan.kind if plan.kind != "hardship" else "installments"),
                            plan.balance_minor,
                            monthly=_amount(monthly, plan.currency, _("the monthly amount")),
                            months=_count(months, _("the number of months"), 120),
                            settlement=_amount(settlement, plan.currency,
                                               _("the settlement offer")))
        if p.kind == policy.Kind.SETTLEMENT:
            p = policy.Proposal(p.kind, p.balance, settlement=p.settlement)
            if not p.settlement or p.settlement > p.balance:
                raise Refused(_("Give the settlement you offer: more than zero and no more "
                                "than the balance."))
        else:
            p = policy.Proposal(p.kind, p.balance, monthly=p.monthly, months=p.months)
            if not (p.monthly or p.months):
                raise Refused(_("Give the plan you offer: a monthly amount or a number of "
                                "months."))
        if not _dues(p, plan.first_due):
            raise Refused(_("Give the plan you offer: a monthly amount or a number of months."))
        counter = _proposal_data(p)
    PLAN.move(plan, PlanStatus(outcome))
    plan.decision = {"outcome": outcome, "by": f"staff:{actor.id}", "note": note or None,
                     "reasons": [{"code": "staff_decision", "figures": {}}], "counter": counter,
                     "rules": plan.decision, "basis": plan.decision.get("basis", "monthly")}
    plan.decided_at = datetime.now(UTC)
    ends = [f"plan:{plan.number}:hardship"] if plan.kind == "hardship" else []
    event = record(actor, EventKind.PLAN_DECIDED, borrower_id=plan.borrower_id,
                   account_id=plan.account_id,
                   # The note (it may quote the borrower) stays on the plan, not the record.
                   data={"plan": plan.number, "account_id": plan.account_id, "outcome": outcome,
                         "noted": bool(note), "counter": counter, "hold_ends": ends})
    if ends:
        contact.reconcile(db.session.get(Borrower, plan.borrower_id), actor)
    publish("plan.decided", _message(plan, outcome=outcome, note=note or None),
            account_ref=plan.account.reference, case_event_id=event.id)
    return plan


def decision_notes(events) -> dict[int, str]:
    """By event id, the note of each staff decision event that had one (kept in the plan's
    decision, not in the record)."""
    named = {int(e.data["plan"][2:]): e.id for e in events
             if e.kind == EventKind.PLAN_DECIDED and e.data.get("noted")}
    if not named:
        return {}
    rows = db.session.scalars(select(PaymentPlan).where(PaymentPlan.id.in_(named)))
    return {named[p.id]: p.decision["note"] for p in rows if (p.decision or {}).get("note")}
