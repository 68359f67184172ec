"""One owner for money: only the money core constructs ledger entries or sets an account's
status; everything else calls it."""

from __future__ import annotations

import ast
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"


def _sites(predicate) -> set[str]:
    found = set()
    for path in PORTAL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if predicate(node):
                found.add(str(path.relative_to(PORTAL.parent)))
    return found


def _constructs_ledger_entry(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == "LedgerEntry"


def _writes_an_account_status(node) -> bool:
    """`account.status = ...` (by that name, as every writer spelled it)."""
    return isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Attribute) and t.attr == "status" and isinstance(t.value, ast.Name)
        and t.value.id == "account" for t in node.targets)


def test_only_the_money_core_constructs_ledger_entries():
    assert _sites(_constructs_ledger_entry) == {"portal/accounts/ledger.py"}


def test_nothing_assigns_an_account_status_by_hand():
    assert _sites(_writes_an_account_status) == set()


def test_the_checks_see_what_they_look_for():
    assert _constructs_ledger_entry(ast.parse("LedgerEntry(kind='credit')").body[0].value)
    assert _writes_an_account_status(ast.parse("account.status = 'closed'").body[0])
