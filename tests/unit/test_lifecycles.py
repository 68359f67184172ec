"""Every lifecycle, every pair of states: the moves each table allows, written out again here by
hand, and the named exception on every other."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import pytest

from portal.accounts.ledger import ACCOUNT
from portal.accounts.models import AccountStatus as A
from portal.disputes.rules import DISPUTE
from portal.disputes.rules import DisputeStatus as D
from portal.lifecycle import InvalidTransition, Lifecycle
from portal.payments.rules import PAYMENT
from portal.payments.rules import PaymentStatus as S
from portal.plans.models import INSTALLMENT, PLAN
from portal.plans.models import InstallmentStatus as I  # noqa: E741
from portal.plans.models import PlanStatus as P

ALLOWED = {
    "payment": {
        (S.CREATED, S.SUBMITTING), (S.CREATED, S.CANCELED), (S.CREATED, S.FAILED),
        (S.CREATED, S.SUCCEEDED), (S.CREATED, S.PENDING),
        (S.SUBMITTING, S.CREATED), (S.SUBMITTING, S.PENDING), (S.SUBMITTING, S.REQUIRES_ACTION),
        (S.SUBMITTING, S.FAILED), (S.SUBMITTING, S.SUCCEEDED), (S.SUBMITTING, S.CANCELED),
        (S.REQUIRES_ACTION, S.PENDING), (S.REQUIRES_ACTION, S.FAILED),
        (S.REQUIRES_ACTION, S.SUCCEEDED), (S.REQUIRES_ACTION, S.CANCELED),
        (S.PENDING, S.SUCCEEDED), (S.PENDING, S.FAILED), (S.PENDING, S.REQUIRES_ACTION),
        (S.FAILED, S.SUCCEEDED), (S.CANCELED, S.SUCCEEDED),
    },
    "dispute": {
        (D.RECEIVED, D.UNDER_REVIEW), (D.RECEIVED, D.VERIFICATION_SENT),
        (D.RECEIVED, D.RESOLVED), (D.RECEIVED, D.WITHDRAWN),
        (D.UNDER_REVIEW, D.VERIFICATION_SENT), (D.UNDER_REVIEW, D.RESOLVED),
        (D.UNDER_REVIEW, D.WITHDRAWN),
        (D.VERIFICATION_SENT, D.RESOLVED), (D.VERIFICATION_SENT, D.WITHDRAWN),
    },
    "plan": {
        (P.APPROVED, P.ACTIVE), (P.APPROVED, P.REFERRED), (P.APPROVED, P.CANCELED),
        (P.COUNTERED, P.APPROVED), (P.COUNTERED, P.REFERRED), (P.COUNTERED, P.CANCELED),
        (P.REFERRED, P.APPROVED), (P.REFERRED, P.COUNTERED), (P.REFERRED, P.DECLINED),
        (P.REFERRED, P.CANCELED),
        (P.DECLINED, P.REFERRED),
        (P.ACTIVE, P.COMPLETED), (P.ACTIVE, P.BROKEN), (P.ACTIVE, P.CANCELED),
    },
    "installment": {
        (I.SCHEDULED, I.PROCESSING), (I.SCHEDULED, I.PAID), (I.SCHEDULED, I.FAILED),
        (I.PROCESSING, I.PAID), (I.PROCESSING, I.FAILED), (I.PROCESSING, I.SCHEDULED),
        (I.FAILED, I.PROCESSING), (I.FAILED, I.PAID), (I.FAILED, I.FAILED),
        (I.FAILED, I.SCHEDULED),
    },
    "account": {
        (A.OPEN, A.PAID), (A.OPEN, A.CLOSED), (A.PAID, A.OPEN), (A.PAID, A.CLOSED),
        (A.OPEN, A.RECALLED), (A.PAID, A.RECALLED),
    },
}
LIFECYCLES = {"payment": PAYMENT, "dispute": DISPUTE, "plan": PLAN,
              "installment": INSTALLMENT, "account": ACCOUNT}
FINAL = {"payment": {S.SUCCEEDED}, "dispute": {D.RESOLVED, D.WITHDRAWN},
         "plan": {P.COMPLETED, P.BROKEN, P.CANCELED}, "installment": {I.PAID},
         "account": {A.CLOSED, A.RECALLED}}

PAIRS = [pytest.param(name, a, b, id=f"{name}:{a}->{b}")
         for name, cycle in LIFECYCLES.items() for a, b in product(cycle.states, cycle.states)]


@dataclass
class Row:
    status: str


@pytest.mark.parametrize(("name", "current", "new"), PAIRS)
def test_every_pair_of_states(name, current, new):
    cycle = LIFECYCLES[name]
    allowed = (current, new) in ALLOWED[name]
    assert cycle.allows(current, new) is allowed
    assert cycle.allows(str(current), str(new)) is allowed  # as the database holds them
    row = Row(str(current))
    if allowed:
        cycle.move(row, new)
        assert row.status == new
    else:
        with pytest.raises(InvalidTransition) as refused:
            cycle.move(row, new)
        assert (refused.value.lifecycle, refused.value.current, refused.value.new) == (
            name, str(current), str(new))
        assert row.status == str(current)  # left as it was


@pytest.mark.parametrize("name", LIFECYCLES)
def test_final_states_lead_nowhere(name):
    cycle = LIFECYCLES[name]
    assert {s for s in cycle.states if cycle.final(s)} == FINAL[name]


@pytest.mark.parametrize("name", LIFECYCLES)
def test_an_unknown_status_is_an_error_not_a_move(name):
    with pytest.raises(ValueError):
        LIFECYCLES[name].allows("refunded", "nonsense")


def test_a_table_must_name_every_state():
    with pytest.raises(ValueError, match="no moves given"):
        Lifecycle("half", A, {A.OPEN: {A.PAID}})
