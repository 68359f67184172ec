"""The database role the app should run as: enough to work, never enough to rewrite the record
(it does not own the tables, so it cannot ALTER TABLE ... DISABLE TRIGGER either)."""

from __future__ import annotations

import re

#: The tables whose rows never change (the triggers of migrations 0001, 0015 and 0017 refuse it
#: too): the record, the ledger, the staff audit, and lenders' terms, direct payments and closed
#: statements.
APPEND_ONLY = ("case_event", "ledger_entry", "staff_audit", "creditor_terms", "commission_rate",
               "direct_payment", "remittance_statement", "remittance_line", "remittance_item")
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role_sql(role: str) -> list[str]:
    """GRANT statements for `role`, run by the tables' owner after every `flask db upgrade`."""
    if not IDENTIFIER.fullmatch(role):
        raise ValueError("role must be a plain lower-case identifier")
    tables = ", ".join(APPEND_ONLY)
    return [
        f"-- The app connects as {role}; migrations run as the owner of the tables, which runs",
        "-- this after every upgrade. The app's role must not own any table, must not be a",
        "-- member of the owner's role, and must not be a superuser or have BYPASSRLS.",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};",
        f"GRANT USAGE ON SCHEMA public TO {role};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role};",
    ]
