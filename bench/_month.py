"""November 2026 at Stripe, built in memory exactly as its lists return it, for the benchmarks
that reconcile a month (bench/reconcile.py, bench/statements.py): the pages pre-loaded, so what
they time is ours, not HTTP.

Payment `i` (1..count) of a benchmark tagged `tag` is charge `ch_<tag><i>` of PaymentIntent
`pi_<tag><i>`, `amount(i)` minor units, created `created(i, count)`; its seed writes our side
with the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from portal.reconcile.matching import Stripe

NOV_1 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
#: The month's payments are spread over its first 29 days.
SECONDS = 29 * 86400
PAYOUTS = 20
#: Stripe's fee on a dispute, in minor units.
DISPUTE_FEE = 1500


def amount(i: int) -> int:
    """Payment i's amount: 10.00 to 109.99."""
    return 1000 + i % 10000


def created(i: int, count: int) -> int:
    """When payment i succeeded (Unix seconds), spread over the month."""
    return NOV_1 + i * SECONDS // count


def stripe_month(count: int, tag: str, refunded: Callable[[int], int] = lambda i: 0,
                 charged_back: Callable[[int], bool] = lambda i: False) -> Stripe:
    """Stripe's November as its lists would return it (plain dicts, as `to_dict()` gives): a
    balance transaction with a fee for every charge, `refunded(i)` refunded an hour after it
    (0: none), payment i disputed in full 12 hours after it when `charged_back(i)`, and
    `PAYOUTS` automatic payouts with their `payout=` transactions."""
    found = Stripe()
    payouts: dict[int, list[dict]] = {p: [] for p in range(PAYOUTS)}
    for i in range(1, count + 1):
        at, value = created(i, count), amount(i)
        fee = 30 + value * 29 // 1000
        txn = {"id": f"txn_{tag}{i}", "object": "balance_transaction", "amount": value,
               "fee": fee, "net": value - fee, "currency": "usd", "created": at,
               "available_on": at + 2 * 86400, "status": "available", "type": "charge",
               "reporting_category": "charge", "source": f"ch_{tag}{i}"}
        found.balance_transactions.append(txn)
        found.charges[f"ch_{tag}{i}"] = {"id": f"ch_{tag}{i}", "object": "charge",
                                         "amount": value, "payment_intent": f"pi_{tag}{i}",
                                         "created": at, "currency": "usd",
                                         "status": "succeeded"}
        payouts[i % PAYOUTS].append(txn)
        if back := refunded(i):
            refund = {"id": f"txn_r{tag}{i}", "object": "balance_transaction", "amount": -back,
                      "fee": 0, "net": -back, "currency": "usd", "created": at + 3600,
                      "available_on": at + 3600, "status": "available",
                      "type": "refund", "reporting_category": "refund", "source": f"re_{tag}{i}"}
            found.balance_transactions.append(refund)
            found.refunds[f"re_{tag}{i}"] = {"id": f"re_{tag}{i}", "object": "refund",
                                             "amount": back, "charge": f"ch_{tag}{i}",
                                             "created": at + 3600}
            payouts[i % PAYOUTS].append(refund)
        if charged_back(i):
            dispute = {"id": f"txn_d{tag}{i}", "object": "balance_transaction",
                       "amount": -value, "fee": DISPUTE_FEE, "net": -value - DISPUTE_FEE,
                       "currency": "usd", "created": at + 12 * 3600,
                       "available_on": at + 12 * 3600, "status": "available",
                       "type": "adjustment", "reporting_category": "dispute",
                       "source": f"dp_{tag}{i}"}
            found.balance_transactions.append(dispute)
            found.disputes[f"dp_{tag}{i}"] = {"id": f"dp_{tag}{i}", "object": "dispute",
                                              "amount": value, "charge": f"ch_{tag}{i}",
                                              "payment_intent": f"pi_{tag}{i}",
                                              "created": at + 12 * 3600,
                                              "reason": "fraudulent", "status": "lost"}
            payouts[i % PAYOUTS].append(dispute)
    for p, txns in payouts.items():
        total = sum(t["net"] for t in txns)
        payout = {"id": f"po_{tag}{p}", "object": "payout", "amount": total, "currency": "usd",
                  "created": NOV_1 + SECONDS, "arrival_date": NOV_1 + SECONDS + 86400,
                  "automatic": True, "status": "paid", "balance_transaction": f"txn_po{tag}{p}"}
        own = {"id": f"txn_po{tag}{p}", "amount": -total, "fee": 0, "net": -total,
               "currency": "usd", "created": NOV_1 + SECONDS, "available_on": NOV_1 + SECONDS,
               "status": "available", "type": "payout", "reporting_category": "payout",
               "source": f"po_{tag}{p}"}
        found.payouts.append((payout, [*txns, own]))
    return found


def transactions(found: Stripe) -> int:
    """Every balance transaction of the month, the payouts' own included."""
    return len(found.balance_transactions) + len(found.payouts)
