"""The queues' queries, the one owner of them: each scoped to the staff member's agency
(agency/scope.py), filtered and sorted only by the whitelisted columns of its catalogue entry,
and read one page at a time (LIMIT/OFFSET over an index that fits the default order)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, any_, false, func, literal, or_, select
from sqlalchemy.engine import Row

from portal.accounts.models import Account, ContactPoint, Creditor
from portal.agency.scope import within
from portal.api.models import ApiKey, Partner
from portal.contact.models import ContactAttempt, ContactHold
from portal.disputes.models import Dispute
from portal.disputes.rules import OPEN
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.intake.console import RUNNING
from portal.intake.staging import creditors_of
from portal.messaging.models import OutgoingMessage
from portal.payments.models import Payment
from portal.placements.models import PlacementImport
from portal.plans.models import PaymentPlan, PlanStatus
from portal.plans.policy import Kind
from portal.queues import paging
from portal.queues.catalogue import QUEUES, Queue
from portal.queues.week import this_week
from portal.rights.models import CorrectionRequest

#: How many partners and agents the violations queue's summary names.
GROUPS_SHOWN = 20


@dataclass(frozen=True)
class Asked:
    """A queue's query string, read and checked."""

    sort: paging.Sort
    page: int
    #: Filter name -> its value (an int for a creditor), only those given.
    filters: dict[str, object]

    def args(self, **changes) -> dict[str, object]:
        """The query string of a link from this page (a sort, another page), filters kept."""
        found = {**self.filters, "sort": self.sort.text, "page": self.page} | changes
        if found["page"] == 1:
            del found["page"]  # page 1 is the queue's own address
        return found


@dataclass(frozen=True)
class Shown:
    """One page of a queue, as the page shows it."""

    queue: Queue
    asked: Asked
    rows: list[Row]
    total: int
    page: int
    pages: int
    creditors: list[tuple[int, str]]
    #: The violations queue's summary: (reported_by, count), most first.
    groups: list[tuple[str, int]]
    #: Who `reported_by` names (the violations queue): a partner or a staff member.
    names: dict[str, str]


@dataclass(frozen=True)
class Built:
    query: Select
    sorts: Mapping[str, ColumnElement]
    filters: Mapping[str, Callable[[object], ColumnElement]]
    #: The tie-breaker that makes every order total (the row's own id).
    key: tuple[ColumnElement, ...]


def asked(queue: Queue, args: Mapping[str, str]) -> Asked:
    """Read a queue's query string; BadQuery (a 400) for anything the queue does not offer."""
    filters: dict[str, object] = {}
    for f in queue.filters:
        raw = args.get(f.name)
        if f.kind == "creditor":
            value = paging.id_of(f.name, raw)
        elif f.kind == "choice":
            value = paging.choice_of(f.name, raw, f.values)
        else:
            value = paging.text_of(f.name, raw)
        if value is not None:
            filters[f.name] = value
    return Asked(paging.sort_of(args.get("sort"), queue.sorts, queue.default_sort),
                 paging.page_number(args.get("page")), filters)


def _by_creditor(value) -> ColumnElement:
    return Account.creditor_id == value


def _on_account(query: Select, account_id: ColumnElement) -> Select:
    return (query.join(Account, Account.id == account_id)
            .join(Creditor, Creditor.id == Account.creditor_id))


def _plans(agency_id: int, hardship: bool) -> Built:
    query = _on_account(select(
        PaymentPlan.id, PaymentPlan.kind, PaymentPlan.total_minor, PaymentPlan.currency,
        PaymentPlan.hardship_reason, PaymentPlan.pause_days, PaymentPlan.created_at,
        Account.reference, Creditor.name.label("creditor")), PaymentPlan.account_id).where(
        PaymentPlan.status == PlanStatus.REFERRED,
        (PaymentPlan.kind == Kind.HARDSHIP) if hardship else (PaymentPlan.kind != Kind.HARDSHIP),
        within(agency_id, PaymentPlan.account_id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "kind": PaymentPlan.kind, "reason": PaymentPlan.hardship_reason,
                         "total": PaymentPlan.total_minor, "created": PaymentPlan.created_at},
                 {"creditor": _by_creditor, "kind": lambda v: PaymentPlan.kind == v,
                  "reason": lambda v: PaymentPlan.hardship_reason == v}, (PaymentPlan.id,))


def _disputes(agency_id: int) -> Built:
    query = _on_account(select(
        Dispute.id, Dispute.status, Dispute.within_validation, Dispute.opened_at,
        Account.reference, Creditor.name.label("creditor")), Dispute.account_id).where(
        Dispute.status.in_([str(s) for s in OPEN]), within(agency_id, Dispute.account_id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "status": Dispute.status, "validation": Dispute.within_validation,
                         "opened": Dispute.opened_at},
                 {"creditor": _by_creditor, "status": lambda v: Dispute.status == v,
                  "validation": lambda v: Dispute.within_validation.is_(v == "inside")},
                 (Dispute.id,))


#: Who reported a contact: a partner's key (`key:<public id>`), a staff member (their id).
_PARTNER = ContactAttempt.reported_by.startswith("key:")
_AGENT = ContactAttempt.reported_by.regexp_match("^[0-9]+$")


def reporter_kind(reported_by: str) -> str:
    """partner, agent or system (the portal's own messages), as the `who` filter names them."""
    if reported_by.startswith("key:"):
        return "partner"
    return "agent" if reported_by.isascii() and reported_by.isdigit() else "system"


def reporters(agency_id: int) -> dict[str, str]:
    """The agency's partners (by their keys) and staff, by what `reported_by` holds: a small
    lookup, so the queue's query joins no names (another agency's are never named)."""
    keys = db.session.execute(select(ApiKey.public_id, Partner.name).join(
        Partner, Partner.id == ApiKey.partner_id).where(Partner.agency_id == agency_id))
    staff = db.session.execute(select(StaffUser.id, StaffUser.name).where(
        StaffUser.agency_id == agency_id))
    return {f"key:{key}": name for key, name in keys} | {str(i): name for i, name in staff}


def _violations(agency_id: int) -> Built:
    query = _on_account(select(
        ContactAttempt.id, ContactAttempt.at, ContactAttempt.channel,
        ContactAttempt.violated_rules, ContactAttempt.reported_by,
        Account.reference, Creditor.name.label("creditor")), ContactAttempt.account_id).where(
        ContactAttempt.violation, within(agency_id, ContactAttempt.account_id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "at": ContactAttempt.at, "channel": ContactAttempt.channel,
                         "by": ContactAttempt.reported_by},
                 {"creditor": _by_creditor, "channel": lambda v: ContactAttempt.channel == v,
                  "who": lambda v: _PARTNER if v == "partner" else _AGENT,
                  "by": lambda v: ContactAttempt.reported_by == v,
                  "rule": lambda v: literal(v) == any_(ContactAttempt.violated_rules)},
                 (ContactAttempt.id,))


def _holds(agency_id: int, now: datetime, zone: str) -> Built:
    """Holds in force whose end falls this week: a hold on every account of the borrower (no
    account of its own) is listed on each of the borrower's accounts with this agency."""
    start, end = this_week(now, zone)
    query = select(ContactHold.id, ContactHold.rule, ContactHold.channels, ContactHold.until,
                   Account.reference, Creditor.name.label("creditor")).join(
        Account, or_(Account.id == ContactHold.account_id,
                     and_(ContactHold.account_id.is_(None),
                          Account.borrower_id == ContactHold.borrower_id))).join(
        Creditor, Creditor.id == Account.creditor_id).where(
        ContactHold.ended_at.is_(None), ContactHold.until >= start, ContactHold.until <= end,
        within(agency_id, Account.id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "until": ContactHold.until, "rule": ContactHold.rule},
                 {"creditor": _by_creditor, "rule": lambda v: ContactHold.rule == v},
                 (ContactHold.id, Account.id))


def _chargebacks(agency_id: int) -> Built:
    query = _on_account(select(
        Payment.id, Payment.amount_minor, Payment.charged_back_minor, Payment.currency,
        Payment.chargeback_id, Payment.updated_at, Account.reference,
        Creditor.name.label("creditor")), Payment.account_id).where(
        or_(Payment.charged_back_minor > 0, Payment.chargeback_id.is_not(None)),
        within(agency_id, Payment.account_id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "when": Payment.updated_at, "amount": Payment.charged_back_minor},
                 {"creditor": _by_creditor}, (Payment.id,))


def _bounced(agency_id: int) -> Built:
    """Failed messages about an account (a sign-in code names no account, so no case)."""
    failed = func.coalesce(OutgoingMessage.settled_at, OutgoingMessage.created_at)
    written = OutgoingMessage.created_at
    undeliverable = ContactPoint.undeliverable_at.is_not(None)
    query = _on_account(select(
        OutgoingMessage.id, OutgoingMessage.channel, OutgoingMessage.kind,
        OutgoingMessage.error_code, OutgoingMessage.error, written.label("written_at"),
        failed.label("failed_at"),
        func.coalesce(undeliverable, false()).label("undeliverable"), Account.reference,
        Creditor.name.label("creditor")), OutgoingMessage.account_id).outerjoin(
        ContactPoint, ContactPoint.id == OutgoingMessage.contact_point_id).where(
        OutgoingMessage.status == "failed", within(agency_id, OutgoingMessage.account_id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "written": written, "channel": OutgoingMessage.channel,
                         "undeliverable": func.coalesce(undeliverable, false())},
                 {"creditor": _by_creditor, "channel": lambda v: OutgoingMessage.channel == v,
                  "undeliverable": lambda v: undeliverable if v == "yes"
                  else ContactPoint.undeliverable_at.is_(None)}, (OutgoingMessage.id,))


def _imports(agency_id: int) -> Built:
    query = select(
        PlacementImport.id, PlacementImport.filename, PlacementImport.state,
        PlacementImport.done_rows, PlacementImport.total_rows, PlacementImport.created_at,
        Creditor.name.label("creditor")).join(
        Creditor, Creditor.id == PlacementImport.creditor_id).where(
        PlacementImport.state.in_([str(s) for s in RUNNING]),
        PlacementImport.agency_id == agency_id, Creditor.agency_id == agency_id)
    return Built(query, {"creditor": Creditor.name, "state": PlacementImport.state,
                         "created": PlacementImport.created_at},
                 {"creditor": lambda v: PlacementImport.creditor_id == v,
                  "state": lambda v: PlacementImport.state == v}, (PlacementImport.id,))


def _corrections(agency_id: int) -> Built:
    query = _on_account(select(
        CorrectionRequest.id, CorrectionRequest.due_on, CorrectionRequest.law,
        CorrectionRequest.details,
        CorrectionRequest.created_at, Account.reference, Creditor.name.label("creditor")),
        CorrectionRequest.account_id).where(
        CorrectionRequest.answered_at.is_(None), within(agency_id, CorrectionRequest.account_id))
    return Built(query, {"account": Account.reference, "creditor": Creditor.name,
                         "due": CorrectionRequest.due_on, "law": CorrectionRequest.law,
                         "created": CorrectionRequest.created_at},
                 {"creditor": _by_creditor, "law": lambda v: CorrectionRequest.law == v},
                 (CorrectionRequest.id,))


def built(name: str, agency_id: int, now: datetime, zone: str) -> Built:
    """The queue's query, unfiltered and unsorted, with what it may be sorted and filtered by."""
    match name:
        case "plans" | "hardship":
            return _plans(agency_id, hardship=name == "hardship")
        case "disputes":
            return _disputes(agency_id)
        case "violations":
            return _violations(agency_id)
        case "holds":
            return _holds(agency_id, now, zone)
        case "chargebacks":
            return _chargebacks(agency_id)
        case "bounced":
            return _bounced(agency_id)
        case "imports":
            return _imports(agency_id)
        case "corrections":
            return _corrections(agency_id)
    raise KeyError(name)


def _filtered(made: Built, filters: Mapping[str, object]) -> Select:
    return made.query.where(*(made.filters[name](value) for name, value in filters.items()))


def count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _groups(made: Built, agency_id: int, filters: Mapping[str, object]) -> list:
    """The violations by who reported them (the page's other filters applied, not `by`)."""
    query = made.query.where(*(made.filters[f](v) for f, v in filters.items() if f != "by"))
    inner = query.with_only_columns(ContactAttempt.reported_by).subquery()
    counted = db.session.execute(
        select(inner.c.reported_by, func.count().label("n")).group_by(inner.c.reported_by)
        .order_by(func.count().desc(), inner.c.reported_by).limit(GROUPS_SHOWN))
    return [(by, n) for by, n in counted]


def page_statement(made: Built, query: Select, sort: paging.Sort, page: int) -> Select:
    """One page of `query` in `sort`'s order: the page's keys first, from a query that names
    nothing else (on a deep page PostgreSQL skips the rows before it in the index alone), then
    those rows in full."""
    column = made.sorts[sort.key]
    order = column.desc() if sort.descending else column.asc()
    keys = [k.desc() if sort.descending else k.asc() for k in made.key]
    chosen = (query.with_only_columns(*(k.label(f"k{i}") for i, k in enumerate(made.key)))
              .order_by(order, *keys).limit(paging.PAGE_SIZE).offset(paging.offset(page))
              .subquery())
    return query.join(chosen, and_(*(k == chosen.c[f"k{i}"] for i, k in enumerate(made.key)))
                      ).order_by(order, *keys)


def page_of(name: str, agency_id: int, asked: Asked, now: datetime, zone: str) -> Shown:
    """One page of the queue as asked; a page past the last shows the last."""
    queue = QUEUES[name]
    made = built(name, agency_id, now, zone)
    query = _filtered(made, asked.filters)
    total = count(query)
    pages = paging.pages(total)
    page = min(asked.page, pages)
    rows = list(db.session.execute(page_statement(made, query, asked.sort, page)))
    creditors = [(c.id, c.name) for c in creditors_of(agency_id)]
    violations = name == "violations"
    return Shown(queue, asked, rows, total, page, pages, creditors,
                 _groups(made, agency_id, asked.filters) if violations else [],
                 reporters(agency_id) if violations else {})


def counts(agency_id: int, names, now: datetime, zone: str) -> dict[str, int]:
    """How many items wait in each named queue (the index page)."""
    return {name: count(built(name, agency_id, now, zone).query) for name in names}
