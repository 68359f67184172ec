"""Lifecycles as data: a status moves only along its table, and an illegal move raises, loudly.

Each domain writes its table next to its status enum (payment, dispute, plan, installment,
account) and changes a row's status only through `Lifecycle.move`, so a reader sees every way a
row can change in one place, and a late or repeated event can never walk a row backwards unseen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class InvalidTransition(ValueError):
    """A status change its lifecycle does not allow: a bug or a race, never a user's input."""

    def __init__(self, lifecycle: str, current: str, new: str):
        super().__init__(f"{lifecycle}: {current} -> {new} is not allowed")
        self.lifecycle, self.current, self.new = lifecycle, current, new


class Lifecycle(Generic[S]):
    """The moves a status may make; every state of the enum is named, final ones with none."""

    def __init__(self, name: str, states: type[S], moves: Mapping[S, Iterable[S]]):
        missing = set(states) - set(moves)
        if missing:
            raise ValueError(f"{name}: no moves given for {sorted(missing)}")
        self.name = name
        self.states = states
        self.moves: dict[S, frozenset[S]] = {s: frozenset(moves[s]) for s in states}

    def allows(self, current: str, new: str) -> bool:
        return self.states(new) in self.moves[self.states(current)]

    def final(self, state: str) -> bool:
        return not self.moves[self.states(state)]

    def check(self, current: str, new: str) -> None:
        if not self.allows(current, new):
            raise InvalidTransition(self.name, str(current), str(new))

    def move(self, row, new: S, attr: str = "status") -> None:
        """Set `row.<attr>` to `new`, or raise InvalidTransition (the row is left as it was)."""
        self.check(getattr(row, attr), new)
        setattr(row, attr, new)
