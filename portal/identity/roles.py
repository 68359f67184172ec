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

#: See the agency's placement imports: the list, one import's state and report.
VIEW_IMPORTS = "view_imports"
#: Upload a placement file and see how it would be read (nothing is written).
PREVIEW_IMPORTS = "preview_imports"
#: Start an import of a checked file, and undo one while nothing has happened on its accounts.
RUN_IMPORTS = "run_imports"
#: Adjust a balance with a reason (a ledger adjustment).
ADJUST_BALANCES = "adjust_balances"

_AGENT = frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, VIEW_IMPORTS,
                    PREVIEW_IMPORTS})
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW_CASES, MANAGE_STAFF, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                        LIFT_HOLDS, VIEW_IMPORTS, PREVIEW_IMPORTS, RUN_IMPORTS, RECALL_ACCOUNTS,
                        ADJUST_BALANCES}),
    "agent": _AGENT,
    #: Leads the agents: works cases as they do, loads and undoes placement files, carries out
    #: the creditors' recalls, adjusts balances.
    "supervisor": _AGENT | {RUN_IMPORTS, RECALL_ACCOUNTS, ADJUST_BALANCES},
    "compliance": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, LIFT_HOLDS,
                             VIEW_IMPORTS}),
    "lender": frozenset({VIEW_PORTFOLIO}),
}


def allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
