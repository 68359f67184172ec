"""What each staff role may do: a pure table, tested as one."""

from __future__ import annotations

VIEW_CASES = "view_cases"
VIEW_PORTFOLIO = "view_portfolio"
MANAGE_STAFF = "manage_staff"
WORK_DISPUTES = "work_disputes"
WORK_PLANS = "work_plans"

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW_CASES, MANAGE_STAFF, WORK_DISPUTES, WORK_PLANS}),
    "agent": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS}),
    "compliance": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS}),
    "lender": frozenset({VIEW_PORTFOLIO}),
}


def allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
