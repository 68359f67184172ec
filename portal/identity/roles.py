"""What each staff role may do: a pure table, tested as one."""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext no-op marker: translated where shown
    return text


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
#: Write a note on a case.
ADD_NOTES = "add_notes"
#: Record a conversation with the borrower (a contact attempt the rules count).
RECORD_CONVERSATIONS = "record_conversations"
#: Write to the borrower from the case (through notify, subject to the contact rules).
MESSAGE_BORROWERS = "message_borrowers"
#: Pause a case's contact for a while by agency policy (a supervisor's pause), and lift it.
PAUSE_CONTACT = "pause_contact"
#: Read the staff audit log (sign-ins, failures, admin actions) and export it.
READ_STAFF_AUDIT = "read_staff_audit"
#: Change a creditor's plan policy on its page.
EDIT_PLAN_POLICY = "edit_plan_policy"
#: See the supervisor's dashboard (collections, plans, disputes, holds, contact) and export it.
VIEW_DASHBOARD = "view_dashboard"
#: See the reconciliation with Stripe and the trust accounting (money owed to creditors).
VIEW_RECONCILIATION = "view_reconciliation"
#: Record why a reconciliation's difference is right (a statement may then close over it).
EXPLAIN_DIFFERENCES = "explain_differences"
#: Work borrowers' requests to correct their data (UK GDPR art. 16, CCPA, PIPL art. 46): the
#: queue, and the answer the borrower is sent.
ANSWER_CORRECTIONS = "answer_corrections"
#: Refund a card payment, in part or whole, with a reason (money leaves the agency's Stripe
#: balance: an overpayment, a dispute resolved for the borrower).
REFUND_PAYMENTS = "refund_payments"
#: See the agency's creditors' commission terms, closed remittance statements and the next
#: statement as it would close now.
VIEW_STATEMENTS = "view_statements"
#: Close a creditor's remittance statement (written once, announced to the agency's systems).
CLOSE_STATEMENTS = "close_statements"
#: Add a creditor's commission terms (they supersede the older ones from their date).
SET_COMMISSION_TERMS = "set_commission_terms"

_AGENT = frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, VIEW_IMPORTS,
                    PREVIEW_IMPORTS, ADD_NOTES, RECORD_CONVERSATIONS, MESSAGE_BORROWERS,
                    ANSWER_CORRECTIONS, VIEW_STATEMENTS})
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW_CASES, MANAGE_STAFF, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS,
                        LIFT_HOLDS, VIEW_IMPORTS, PREVIEW_IMPORTS, RUN_IMPORTS, RECALL_ACCOUNTS,
                        ADJUST_BALANCES, ADD_NOTES, RECORD_CONVERSATIONS, MESSAGE_BORROWERS,
                        PAUSE_CONTACT, READ_STAFF_AUDIT, EDIT_PLAN_POLICY, VIEW_DASHBOARD,
                        VIEW_RECONCILIATION, EXPLAIN_DIFFERENCES,
                        ANSWER_CORRECTIONS, REFUND_PAYMENTS, VIEW_STATEMENTS,
                        CLOSE_STATEMENTS, SET_COMMISSION_TERMS}),
    "agent": _AGENT,
    #: Leads the agents: works cases as they do, loads and undoes placement files, carries out
    #: the creditors' recalls, adjusts balances, pauses contact, edits plan policy, reconciles
    #: with Stripe and explains its differences, refunds card payments, closes the creditors'
    #: statements.
    "supervisor": _AGENT | {RUN_IMPORTS, RECALL_ACCOUNTS, ADJUST_BALANCES, PAUSE_CONTACT,
                            EDIT_PLAN_POLICY, VIEW_DASHBOARD, VIEW_RECONCILIATION,
                            EXPLAIN_DIFFERENCES, REFUND_PAYMENTS, CLOSE_STATEMENTS},
    # Compliance reviews and notes; it does not work the borrower (no calls, no messages). It
    # closes the creditors' statements (client money leaves the trust account), as supervisors do.
    "compliance": frozenset({VIEW_CASES, WORK_DISPUTES, WORK_PLANS, RECORD_HOLDS, LIFT_HOLDS,
                             VIEW_IMPORTS, ADD_NOTES, READ_STAFF_AUDIT, VIEW_DASHBOARD,
                             VIEW_RECONCILIATION,
                             ANSWER_CORRECTIONS, VIEW_STATEMENTS, CLOSE_STATEMENTS}),
    "lender": frozenset({VIEW_PORTFOLIO}),
}


def allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


#: The case view's actions, each with the permission it needs: the one table of who may do
#: what on a case (README, "Case view"), and the words a refusal gives.
CASE_ACTIONS: dict[str, tuple[str, str]] = {
    "reveal": (VIEW_CASES, N_("reveal the borrower's personal data")),
    "note": (ADD_NOTES, N_("add a note")),
    "conversation": (RECORD_CONVERSATIONS, N_("record a conversation")),
    "adjust": (ADJUST_BALANCES, N_("adjust a balance")),
    "hold": (RECORD_HOLDS, N_("record what pauses contact")),
    "consent": (RECORD_HOLDS, N_("record the borrower's consent")),
    "lift": (LIFT_HOLDS, N_("lift a hold")),
    "pause": (PAUSE_CONTACT, N_("pause or resume contact by agency policy")),
    "message": (MESSAGE_BORROWERS, N_("send the borrower a message")),
    "refund": (REFUND_PAYMENTS, N_("refund a card payment")),
}
#: The roles in the order a refusal names them.
STAFF_ROLES = ("agent", "supervisor", "compliance", "admin")


def roles_allowed(permission: str) -> tuple[str, ...]:
    """The staff roles that hold `permission`, as a refusal names them."""
    return tuple(role for role in STAFF_ROLES if allows(role, permission))


def action_of(permission: str) -> str | None:
    """The words for what a permission lets a person do (the first case action needing it)."""
    return next((words for needed, words in CASE_ACTIONS.values() if needed == permission), None)
