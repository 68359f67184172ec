"""How a payment is spread over the balance's components, and how a reversal undoes it. Pure.

The default order is fees, then interest, then principal (a creditor's terms may name another);
a reversal (refund, chargeback) gives back in the opposite order, so a partial refund first
restores principal that the payment had reduced last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

COMPONENTS = ("fees", "interest", "principal")
DEFAULT_ORDER = COMPONENTS


def allocate(amount: int, outstanding: Mapping[str, int],
             order: Sequence[str] = DEFAULT_ORDER) -> dict[str, int]:
    """Split `amount` (minor units, > 0) over what is outstanding, in `order`.

    Whatever exceeds every component (an overpayment the creditor allows) goes to principal, so
    the parts always add up to the amount paid."""
    if amount <= 0:
        raise ValueError("a payment allocates a positive amount")
    if sorted(order) != sorted(COMPONENTS):
        raise ValueError(f"an allocation order names each of {COMPONENTS} once")
    parts = dict.fromkeys(COMPONENTS, 0)
    left = amount
    for component in order:
        take = min(left, max(outstanding.get(component, 0), 0))
        parts[component] += take
        left -= take
    parts["principal"] += left
    return parts


def reverse(amount: int, allocated: Mapping[str, int], already_reversed: Mapping[str, int],
            order: Sequence[str] = DEFAULT_ORDER) -> dict[str, int]:
    """Split a reversal of `amount` over what the payment allocated and is not yet reversed,
    giving back in the opposite of the allocation order."""
    if amount <= 0:
        raise ValueError("a reversal gives back a positive amount")
    left = amount
    parts = dict.fromkeys(COMPONENTS, 0)
    for component in reversed(tuple(order)):
        room = allocated.get(component, 0) - already_reversed.get(component, 0)
        take = min(left, max(room, 0))
        parts[component] = take
        left -= take
    if left:
        raise ValueError("cannot reverse more than the payment allocated")
    return parts
