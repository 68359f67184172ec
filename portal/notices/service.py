"""Queueing the first letter of newly placed accounts.

The placement import calls `queue_first_letters` in the transaction of each chunk it places, so a
notice goes for every account placed and for none of an import that rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from portal.cases.service import Actor


def queue_first_letters(account_ids: Sequence[int], actor: Actor) -> None:
    """Queue the first letter of each of these newly placed accounts (the notices issue fills
    this in: today nothing is sent)."""
    return None
