"""What a signed-in helper may open: the borrower's pages their grant reaches (one account or
all), reading always, changing only with "act"; a UK debt adviser who may act can also start
breathing space. Everything else of the borrower's (preferences, their data, their helpers) is
the borrower's alone."""

from __future__ import annotations

from portal.accounts.service import own_account
from portal.disputes.service import own_dispute
from portal.identity.helpers import HelperKind, Helping
from portal.operations import NotFound
from portal.payments.checkout import own_payment
from portal.plans.service import own_plan

#: The borrower's pages a helper may use, by blueprint.
HELPER_BLUEPRINTS = frozenset({"accounts", "payments", "plans", "disputes"})
#: Pages a debt adviser with "act" also reaches: starting breathing space (CONC 7, the Debt
#: Respite Scheme: a debt adviser applies for it).
ADVISER_ENDPOINTS = frozenset({"contact.page", "contact.breathing_space"})
#: The helper's own pages: whom they help, and switching to another person who asked them.
HELPER_ENDPOINTS = frozenset({"helping.helping", "helping.switch"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def decision(helping: Helping, endpoint: str, method: str) -> int | None:
    """None when the helper may go on, else the HTTP status refusing them (pure)."""
    if endpoint in HELPER_ENDPOINTS:
        return None
    blueprint = endpoint.partition(".")[0]
    adviser = helping.grant.kind == HelperKind.ADVISER and helping.may_act
    if blueprint not in HELPER_BLUEPRINTS and not (adviser and endpoint in ADVISER_ENDPOINTS):
        return 403
    if method not in SAFE_METHODS and not helping.may_act:
        return 403
    return None


def account_of_arguments(borrower_id: int, args: dict) -> int | None:
    """The account a page is about, from its URL arguments (None: about no one account)."""
    if "reference" in args:
        return own_account(borrower_id, args["reference"]).id
    if "plan_number" in args:
        return own_plan(borrower_id, args["plan_number"]).account_id
    if "number" in args:
        return own_dispute(borrower_id, args["number"]).account_id
    if "payment_id" in args:
        return own_payment(borrower_id, args["payment_id"]).account_id
    return None


def reaches(helping: Helping, args: dict) -> bool:
    """Whether the grant reaches the account the page is about (a page of another account of
    the borrower's is, to the helper, a page that does not exist)."""
    if helping.grant.account_id is None:
        return True
    try:
        about = account_of_arguments(helping.id, args)
    except NotFound:
        return True  # the page itself answers 404
    return about is None or about == helping.grant.account_id
