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
#: Recall accounts for their creditor (a recall file): collection of them ends for good.
RECALL_ACCOUNTS = "recall_accounts"

#: See placement and recall files and their reports, and check a file before it is imported.
VIEW_IMPORTS = "view_imports"
#: Import a placement file, undo an import, recall accounts: what changes a creditor's portfolio.
IMPORT_PLACEMENTS = "import_placements"
#: Adjust a balance with a reason (a ledger adjustment).
ADJUST_BALANCES = "adjust_balances"

_AGENT = frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, VIEW_IMPORTS})
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW_CASES, MANAGE_STAFF, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                        LIFT_HOLDS, VIEW_IMPORTS, IMPORT_PLACEMENTS, ADJUST_BALANCES}),
    "agent": _AGENT,
    "supervisor": _AGENT | {IMPORT_PLACEMENTS, ADJUST_BALANCES},
#: See the agency's placement imports: the list, one import's state and report.
VIEW_IMPORTS = "view_imports"
#: Upload a placement file and see how it would be read (nothing is written).
PREVIEW_IMPORTS = "preview_imports"
#: Start an import of a checked file, and undo one while nothing has happened on its accounts.
RUN_IMPORTS = "run_imports"

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW_CASES, MANAGE_STAFF, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                        LIFT_HOLDS, VIEW_IMPORTS, PREVIEW_IMPORTS, RUN_IMPORTS}),
    "supervisor": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                             VIEW_IMPORTS, PREVIEW_IMPORTS, RUN_IMPORTS}),
    "agent": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, VIEW_IMPORTS,
                        PREVIEW_IMPORTS}),
    "compliance": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, LIFT_HOLDS,
                             VIEW_IMPORTS}),
                        LIFT_HOLDS, RECALL_ACCOUNTS}),
    #: Leads the agents: works cases as they do, and carries out the creditors' recalls.
    "supervisor": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                             RECALL_ACCOUNTS}),
    "agent": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS}),
    "compliance": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, LIFT_HOLDS}),
    "lender": frozenset({VIEW_PORTFOLIO}),
}


def allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
