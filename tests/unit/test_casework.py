"""The case view's pure tables: who may do each action (one table, every role), and the history's
sentence for each kind of case event."""

from __future__ import annotations

import pytest

from portal.cases.kinds import EventKind
from portal.casework.history import FLAGGED, INBOUND, SENTENCES, UNKNOWN, describe
from portal.identity.roles import CASE_ACTIONS, PERMISSIONS, action_of, allows, roles_allowed
from portal.money import Money

#: Who may do each action on a case: the table README "Case view" prints.
WHO = {
    "reveal": {"agent", "supervisor", "compliance", "admin"},
    "note": {"agent", "supervisor", "compliance", "admin"},
    "conversation": {"agent", "supervisor", "admin"},
    "adjust": {"supervisor", "admin"},
    "hold": {"agent", "supervisor", "compliance", "admin"},
    "consent": {"agent", "supervisor", "compliance", "admin"},
    "lift": {"compliance", "admin"},
    "pause": {"supervisor", "admin"},
    "message": {"agent", "supervisor", "admin"},
    "refund": {"supervisor", "admin"},
}


@pytest.mark.parametrize("role", sorted(PERMISSIONS))
@pytest.mark.parametrize("action", sorted(WHO))
def test_each_action_names_the_roles_that_may_do_it(action, role):
    permission, _words = CASE_ACTIONS[action]
    assert allows(role, permission) == (role in WHO[action])


def test_the_table_covers_every_action_and_a_lender_may_do_none():
    assert set(CASE_ACTIONS) == set(WHO)
    assert not any(allows("lender", p) for p, _w in CASE_ACTIONS.values())
    assert roles_allowed(CASE_ACTIONS["adjust"][0]) == ("supervisor", "admin")
    assert action_of(CASE_ACTIONS["pause"][0]) == "pause or resume contact by agency policy"


def test_every_kind_of_case_event_is_told_in_words():
    assert set(SENTENCES) == set(EventKind)


@pytest.mark.parametrize(("kind", "data", "sentence", "params", "flag"), [
    ("account.placed", {}, SENTENCES[EventKind.ACCOUNT_PLACED], {}, None),
    ("ledger.posted", {"amount_minor": -8019, "currency": "USD", "kind": "credit"},
     SENTENCES[EventKind.LEDGER_POSTED], {"amount": Money(-8019, "USD"), "entry": "credit"},
     None),
    ("payment.refunded", {"amount_minor": 5000, "refunded_minor": 2000, "currency": "USD"},
     SENTENCES[EventKind.PAYMENT_REFUNDED], {"amount": Money(2000, "USD")}, None),
    ("contact.hold_started", {"rule": "us.deceased", "until": None},
     SENTENCES[EventKind.HOLD_STARTED], {"rule": "us.deceased"}, None),
    ("contact.attempt_recorded", {"channel": "call", "outcome": "conversation",
                                  "direction": "inbound", "violation": False},
     INBOUND, {"channel": "call", "outcome": "conversation"}, None),
    ("contact.attempt_recorded", {"channel": "call", "outcome": "conversation",
                                  "direction": "outbound", "violation": True,
                                  "rules": ["us.call-frequency"]},
     SENTENCES[EventKind.ATTEMPT_RECORDED], {"channel": "call", "outcome": "conversation"},
     FLAGGED),
    # An old event without the field its sentence needs: said plainly, never a crash.
    ("ledger.adjusted", {}, UNKNOWN, {"kind": "ledger.adjusted"}, None),
    ("something.new", {"x": 1}, UNKNOWN, {"kind": "something.new"}, None),
])
def test_describe(kind, data, sentence, params, flag):
    said = describe(kind, data)
    assert (said.sentence, said.params, said.flag) == (sentence, params, flag)
    if flag:
        assert said.flag_params == {"rules": "us.call-frequency"}
