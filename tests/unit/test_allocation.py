"""How a card payment is spread over fees, interest and principal, and how a reversal undoes it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.accounts.allocation import COMPONENTS, DEFAULT_ORDER, allocate, reverse

CREDITOR_ORDER = ("interest", "principal", "fees")
OWED = {"fees": 2500, "interest": 4000, "principal": 76500}


def split(fees: int = 0, interest: int = 0, principal: int = 0) -> dict[str, int]:
    return {"fees": fees, "interest": interest, "principal": principal}


@pytest.mark.parametrize(("amount", "outstanding", "order", "expected"), [
    # The default order: fees first, then interest, then principal.
    (1000, OWED, DEFAULT_ORDER, split(fees=1000)),
    (2500, OWED, DEFAULT_ORDER, split(fees=2500)),
    (5000, OWED, DEFAULT_ORDER, split(fees=2500, interest=2500)),
    (10000, OWED, DEFAULT_ORDER, split(fees=2500, interest=4000, principal=3500)),
    (83000, OWED, DEFAULT_ORDER, split(fees=2500, interest=4000, principal=76500)),
    # A creditor's own order: interest, then principal, fees last.
    (3000, OWED, CREDITOR_ORDER, split(interest=3000)),
    (10000, OWED, CREDITOR_ORDER, split(interest=4000, principal=6000)),
    (82000, OWED, CREDITOR_ORDER, split(fees=1500, interest=4000, principal=76500)),
    # Overpayment (where the creditor allows it) goes to principal, whatever the order.
    (90000, OWED, DEFAULT_ORDER, split(fees=2500, interest=4000, principal=83500)),
    (90000, OWED, CREDITOR_ORDER, split(fees=2500, interest=4000, principal=83500)),
    (500, split(), DEFAULT_ORDER, split(principal=500)),
    # A component missing from, or negative in, what is outstanding takes nothing.
    (3000, {"interest": 1000}, DEFAULT_ORDER, split(interest=1000, principal=2000)),
    (3000, split(fees=-700, interest=1000, principal=5000), DEFAULT_ORDER,
     split(interest=1000, principal=2000)),
])
def test_allocate(amount, outstanding, order, expected):
    assert allocate(amount, outstanding, order) == expected


PAID = split(fees=2500, interest=4000, principal=3500)  # 100.00 paid in the default order


@pytest.mark.parametrize(("amount", "already", "order", "expected"), [
    # Partial reversals give back principal first, the opposite of the default order.
    (1000, split(), DEFAULT_ORDER, split(principal=1000)),
    (3500, split(), DEFAULT_ORDER, split(principal=3500)),
    (5000, split(), DEFAULT_ORDER, split(interest=1500, principal=3500)),
    (8000, split(), DEFAULT_ORDER, split(fees=500, interest=4000, principal=3500)),
    # A full reversal gives back exactly what was allocated.
    (10000, split(), DEFAULT_ORDER, PAID),
    # After an earlier reversal, only what is left to give back.
    (2000, split(principal=3500), DEFAULT_ORDER, split(interest=2000)),
    (6500, split(principal=3500), DEFAULT_ORDER, split(fees=2500, interest=4000)),
    (1000, split(interest=4000, principal=3500), DEFAULT_ORDER, split(fees=1000)),
    # The creditor's order reversed: fees, then principal, then interest.
    (2000, split(), CREDITOR_ORDER, split(fees=2000)),
    (6000, split(), CREDITOR_ORDER, split(fees=2500, principal=3500)),
    (10000, split(), CREDITOR_ORDER, PAID),
])
def test_reverse(amount, already, order, expected):
    assert reverse(amount, PAID, already, order) == expected


@pytest.mark.parametrize(("amount", "already"), [
    (10001, split()),
    (6501, split(principal=3500)),
    (1, PAID),
    (2600, split(interest=4000, principal=3500)),
])
def test_reversing_more_than_was_allocated_is_refused(amount, already):
    with pytest.raises(ValueError, match="more than the payment allocated"):
        reverse(amount, PAID, already)


@pytest.mark.parametrize("order", [
    ("fees", "interest"),
    ("fees", "interest", "principal", "principal"),
    ("fees", "fees", "principal"),
    ("fees", "interest", "penalties"),
    (),
])
def test_an_order_that_does_not_name_each_component_once_is_refused(order):
    with pytest.raises(ValueError, match="names each of"):
        allocate(1000, OWED, order)


@pytest.mark.parametrize("amount", [0, -1, -5000])
def test_only_positive_amounts_allocate_or_reverse(amount):
    with pytest.raises(ValueError, match="positive"):
        allocate(amount, OWED)
    with pytest.raises(ValueError, match="positive"):
        reverse(amount, PAID, split())


orders = st.permutations(COMPONENTS).map(tuple)
balances = st.fixed_dictionaries({c: st.integers(0, 10**7) for c in COMPONENTS})


@given(amount=st.integers(1, 3 * 10**7), outstanding=balances, order=orders)
def test_allocated_parts_add_up_and_only_principal_takes_more_than_is_owed(amount, outstanding,
                                                                           order):
    parts = allocate(amount, outstanding, order)
    assert set(parts) == set(COMPONENTS)
    assert sum(parts.values()) == amount
    assert all(part >= 0 for part in parts.values())
    for component in ("fees", "interest"):
        assert parts[component] <= outstanding[component]
    overflow = amount - sum(outstanding.values())
    if overflow <= 0:
        assert parts["principal"] <= outstanding["principal"]
    else:  # everything owed is paid, and the rest is principal
        assert parts == {**outstanding, "principal": outstanding["principal"] + overflow}


@given(amount=st.integers(1, 3 * 10**7), outstanding=balances, order=orders,
       data=st.data())
def test_successive_reversals_never_give_back_more_than_was_allocated(amount, outstanding,
                                                                       order, data):
    allocated = allocate(amount, outstanding, order)
    given_back = dict.fromkeys(COMPONENTS, 0)
    for _ in range(data.draw(st.integers(0, 5), label="partial reversals") + 1):
        left = amount - sum(given_back.values())
        if not left:
            break
        step = data.draw(st.integers(1, left), label="reversal")
        parts = reverse(step, allocated, given_back, order)
        assert sum(parts.values()) == step
        for component in COMPONENTS:
            given_back[component] += parts[component]
            assert 0 <= given_back[component] <= allocated[component]
    left = amount - sum(given_back.values())
    if left:  # the rest, in one last refund
        for component, part in reverse(left, allocated, given_back, order).items():
            given_back[component] += part
    assert given_back == allocated
    with pytest.raises(ValueError):
        reverse(1, allocated, given_back, order)
