"""A statement drawn up by the database: the rules of `remittance.items` and `remittance.lines`
(and the rate of `commission.rate_for`) written as one SQL query, so a month of 200,000 payments
is gathered, rated, summed and rounded where the rows are, and a statement closes by INSERT ...
SELECT without the rows coming to Python and back.

The pure rules stay the specification: tests/test_statement_sql.py draws random months and
checks each statement against them, item by item and line by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from portal.accounts.models import EntryKind
from portal.bulk import scratch_table
from portal.extensions import db
from portal.lenders import commission, remittance
from portal.payments import settlement
from portal.payments.applying import CHARGEBACK_PREFIX
from portal.payments.rules import PaymentStatus


@dataclass(frozen=True)
class Query:
    """A statement's SQL (a WITH list ending in `items` and `lines`) and its parameters."""

    ctes: str
    params: dict
    #: The first of its WITH list: what it reads (`theirs`, `directs`), once `gather`ed.
    read: str
    #: The SELECT of the card payments it reads (`gather` keeps them).
    theirs: str


def _rate(history: Sequence[commission.Terms], day: str, age: str, product: str,
          params: dict) -> str:
    """`commission.rate_for` of the terms in force on `day`, as a CASE: NULL where no terms
    were in force (the caller refuses that)."""
    branches = []
    for k, terms in enumerate(sorted(history, key=lambda t: t.valid_from, reverse=True)):
        params[f"valid_{k}"] = terms.valid_from
        tries = []
        for j, rate in enumerate(commission.by_precedence(terms.rates)):
            params[f"age_{k}_{j}"], params[f"bp_{k}_{j}"] = rate.min_age_days, rate.rate_bp
            condition = f"{age} >= :age_{k}_{j}"
            if rate.product is not None:
                params[f"product_{k}_{j}"] = rate.product
                condition = f"{product} = :product_{k}_{j} AND {condition}"
            tries.append(f"WHEN {condition} THEN :bp_{k}_{j}")
        branches.append(f"WHEN {day} >= :valid_{k} THEN CASE {' '.join(tries)} ELSE 0 END")
    if not branches:
        return "NULL::integer"
    return f"(CASE {' '.join(branches)} END)::integer"


def _age(paid: str, placed: str) -> str:
    """Whole days from placement to payment, as `timedelta.days` counts them, never below 0."""
    return f"greatest(floor(extract(epoch FROM {paid} - {placed}) / 86400), 0)"


def _half_even(units: str) -> str:
    """`commission.basis_half_even` of a sum in 1/BASIS minor units (numeric: exact)."""
    whole = f"floor({units} / {commission.BASIS})"
    twice_rest = f"2 * ({units} - {commission.BASIS} * {whole})"
    return (f"({whole} + CASE WHEN {twice_rest} > {commission.BASIS} OR ({twice_rest} = "
            f"{commission.BASIS} AND mod({whole}, 2) <> 0) THEN 1 ELSE 0 END)::bigint")


def _theirs(since_filter: str) -> str:
    """The card payments a statement reads (see `gather`)."""
    return f"""
        SELECT p.id, p.account_id, p.currency, p.amount_minor, p.succeeded_at, a.product,
               a.placed_at
        FROM payment p JOIN account a ON a.id = p.account_id
        WHERE a.creditor_id = :creditor AND p.status = :succeeded AND p.succeeded_at < :end
        {since_filter}"""


def gather(drawn: Query) -> None:
    """The card payments the statement reads into `statement_payment` (`bulk.scratch_table`),
    which the query joins as `theirs`."""
    scratch_table("statement_payment", drawn.theirs, drawn.params)


def _read() -> str:
    """The payments and direct payments a statement reads (`theirs`, `directs`)."""
    return """
    theirs AS NOT MATERIALIZED (SELECT * FROM statement_payment), directs AS (
        SELECT d.id, d.account_id, d.currency, d.amount_minor, d.paid_on, a.product,
               a.placed_at
        FROM direct_payment d JOIN account a ON a.id = d.account_id
        WHERE a.creditor_id = :creditor AND d.reported_at < :end
          AND NOT EXISTS (SELECT 1 FROM remittance_item ri WHERE ri.direct_payment_id = d.id)
    )"""


def query(creditor_id: int, end: datetime, history: Sequence[commission.Terms],
          since: datetime | None) -> Query:
    """The creditor's statement ending at `end`, after the last one closed at `since` (None:
    none has)."""
    params = {"creditor": creditor_id, "end": end, "since": since,
              "succeeded": str(PaymentStatus.SUCCEEDED), "reversal": str(EntryKind.REVERSAL),
              "chargeback": CHARGEBACK_PREFIX, "chargeback_len": len(CHARGEBACK_PREFIX)}
    # A payment a statement took and nothing reversed since is done with: the statement of
    # the twenty-fourth month does not read the first month's.
    since_filter = "" if since is None else """
          AND (NOT EXISTS (SELECT 1 FROM remittance_item ri WHERE ri.payment_id = p.id)
               OR EXISTS (SELECT 1 FROM ledger_entry le WHERE le.payment_id = p.id
                          AND le.kind = :reversal AND le.posted_at >= :since))"""
    card_rate = _rate(history, "(t.succeeded_at AT TIME ZONE 'UTC')::date",
                      _age("t.succeeded_at", "t.placed_at"), "t.product", params)
    direct_rate = _rate(history, "paid_on",
                        _age("(paid_on::timestamp AT TIME ZONE 'UTC')", "placed_at"),
                        "product", params)
    is_chargeback = "left(le.description, :chargeback_len) = :chargeback"
    ctes = f"""{_read()}, accounted AS (
        SELECT ri.payment_id, sum(ri.collected_minor) AS collected,
               sum(ri.refunded_minor) AS refunded, sum(ri.charged_back_minor) AS charged_back
        FROM remittance_item ri JOIN theirs t ON t.id = ri.payment_id GROUP BY ri.payment_id
    ), reversed AS (
        SELECT le.payment_id,
               sum(CASE WHEN {is_chargeback} THEN 0 ELSE le.amount_minor END) AS refunded,
               sum(CASE WHEN {is_chargeback} THEN le.amount_minor ELSE 0 END) AS charged_back
        FROM ledger_entry le JOIN theirs t ON t.id = le.payment_id
        WHERE le.kind = :reversal AND le.posted_at < :end
        GROUP BY le.payment_id
    ), available AS ({settlement.available_sql("theirs t", "end")}
    ), facts AS (
        SELECT t.id, t.account_id, t.currency, t.amount_minor, {card_rate} AS rate_bp,
               ac.payment_id IS NOT NULL AS accounted,
               coalesce(ac.collected, 0) <> 0 AS remitted,
               (coalesce(rv.refunded, 0) - coalesce(ac.refunded, 0))::bigint AS refunded,
               (coalesce(rv.charged_back, 0) - coalesce(ac.charged_back, 0))::bigint
                   AS charged_back,
               av.payment_id IS NOT NULL AS available
        FROM theirs t
        LEFT JOIN accounted ac ON ac.payment_id = t.id
        LEFT JOIN reversed rv ON rv.payment_id = t.id
        LEFT JOIN available av ON av.payment_id = t.id
        WHERE NOT (coalesce(ac.collected, 0) <> 0
                   AND ac.collected = ac.refunded + ac.charged_back)
    ), items AS (
        SELECT account_id, currency, rate_bp, id AS payment_id,
               NULL::bigint AS direct_payment_id,
               CASE WHEN remitted THEN 0 ELSE amount_minor END AS collected,
               refunded, charged_back, 0::bigint AS direct
        FROM facts
        WHERE (remitted OR (NOT accounted AND available))
          AND (NOT remitted AND amount_minor <> 0 OR refunded <> 0 OR charged_back <> 0)
        UNION ALL
        SELECT account_id, currency, {direct_rate}, NULL, id, 0, 0, 0, amount_minor
        FROM directs
    ), lines AS (
        SELECT account_id, currency, sum(collected)::bigint AS collected,
               sum(refunded)::bigint AS refunded, sum(charged_back)::bigint AS charged_back,
               {_half_even("sum((collected - refunded - charged_back)::numeric * rate_bp)")}
                   AS commission,
               sum(direct)::bigint AS direct,
               {_half_even("sum(direct::numeric * rate_bp)")} AS direct_commission
        FROM items GROUP BY account_id, currency
    )"""
    return Query(ctes, params, _read(), _theirs(since_filter))


def first_unrated(drawn: Query, history: Sequence[commission.Terms]) -> date | None:
    """The first day of a payment the statement reads on which no terms were in force."""
    first = min((t.valid_from for t in history), default=None)
    before = "" if first is None else " WHERE day < :first"
    return db.session.scalar(text(f"""
        WITH {drawn.read}
        SELECT min(day) FROM (
            SELECT (succeeded_at AT TIME ZONE 'UTC')::date AS day FROM theirs
            UNION ALL SELECT paid_on FROM directs) days{before}"""),
        {**drawn.params, "first": first})


def lines(drawn: Query) -> list[remittance.Line]:
    """The statement's lines, by account."""
    return [remittance.Line(*row) for row in db.session.execute(text(
        f"WITH {drawn.ctes} SELECT account_id, currency, collected, refunded, charged_back, "
        "commission, direct, direct_commission FROM lines ORDER BY account_id, currency"),
        drawn.params)]


def items(drawn: Query) -> list[remittance.Item]:
    """The statement's items (what it accounts of each payment), by payment."""
    return [remittance.Item(*row) for row in db.session.execute(text(
        f"WITH {drawn.ctes} SELECT account_id, currency, rate_bp, payment_id, "
        "direct_payment_id, collected, refunded, charged_back, direct FROM items "
        "ORDER BY payment_id NULLS LAST, direct_payment_id"), drawn.params)]


def write(drawn: Query, statement_id: int) -> None:
    """Write the statement's items and lines, in one statement, as the query draws them."""
    db.session.execute(text(f"""
        WITH {drawn.ctes}, kept AS (
            INSERT INTO remittance_item (statement_id, payment_id, direct_payment_id,
                                         collected_minor, refunded_minor, charged_back_minor,
                                         rate_bp)
            SELECT :statement, payment_id, direct_payment_id, collected + direct, refunded,
                   charged_back, rate_bp
            FROM items ORDER BY payment_id NULLS LAST, direct_payment_id)
        INSERT INTO remittance_line (statement_id, account_id, currency, collected_minor,
                                     refunded_minor, charged_back_minor, commission_minor,
                                     direct_minor, direct_commission_minor)
        SELECT :statement, account_id, currency, collected, refunded, charged_back, commission,
               direct, direct_commission
        FROM lines ORDER BY account_id, currency"""), {**drawn.params, "statement": statement_id})
