"""What each staff role may do: a pure table, tested as one."""

from __future__ import annotations

VIEW_CASES = "view_cases"
VIEW_PORTFOLIO = "view_portfolio"
MANAGE_STAFF = "manage_staff"
WORK_DISPUTES = "work_disputes"
WORK_PLANS = "work_plans"
#: Record what pauses contact by law (a death, a doubt about capacity, an insolvency, the end of
#: crisis treatment) and a borrower's consent to contact outside the usual hours.
RECORD_HOLDS = "record_holds"
#: Lift such a hold (capacity established, an insolvency ended): a compliance decision.
LIFT_HOLDS = "lift_holds"

#: See placement and recall files and their reports, and check a file before it is imported.
VIEW_IMPORTS = "view_imports"
#: Import a placement file, undo an import, recall accounts: what changes a creditor's portfolio.
IMPORT_PLACEMENTS = "import_placements"
#: Adjust a balance with a reason (a ledger adjustment).
ADJUST_BALANCES = "adjust_balances"

#: Read the staff audit log (sign-ins, failures, admin actions) and export it.
READ_STAFF_AUDIT = "read_staff_audit"
#: Change a creditor's plan policy on its page.
EDIT_PLAN_POLICY = "edit_plan_policy"

_AGENT = frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, VIEW_IMPORTS})
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW_CASES, MANAGE_STAFF, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                        LIFT_HOLDS, VIEW_IMPORTS, IMPORT_PLACEMENTS, ADJUST_BALANCES,
                        READ_STAFF_AUDIT, EDIT_PLAN_POLICY}),
    "agent": _AGENT,
    "supervisor": _AGENT | {IMPORT_PLACEMENTS, ADJUST_BALANCES, EDIT_PLAN_POLICY},
    "compliance": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, LIFT_HOLDS,
                             VIEW_IMPORTS, READ_STAFF_AUDIT}),
    "lender": frozenset({VIEW_PORTFOLIO}),
}


def allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
