"""Staff administration's pure rules, as tables: links, passwords, self-protection, addresses."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.identity import staff_rules as r

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
EARLIER = NOW - timedelta(seconds=1)


@pytest.mark.parametrize(("expires_at", "used_at", "revoked_at", "state"), [
    (LATER, None, None, "usable"),
    (NOW, None, None, "expired"),
    (EARLIER, None, None, "expired"),
    (LATER, EARLIER, None, "used"),
    (EARLIER, EARLIER, EARLIER, "used"),
    (LATER, None, EARLIER, "revoked"),
    (EARLIER, None, EARLIER, "revoked"),
])
def test_link_state(expires_at, used_at, revoked_at, state):
    assert r.link_state(expires_at=expires_at, used_at=used_at, revoked_at=revoked_at,
                        now=NOW) == state


def test_links_last_72_hours():
    assert r.LINK_LIFETIME == timedelta(hours=72)


@pytest.mark.parametrize(("password", "confirm", "problem"), [
    ("correct horse battery", "correct horse battery", None),
    ("short-pass1", "short-pass1", "too_short"),
    ("x" * 12, "x" * 12, None),
    ("x" * 201, "x" * 201, "too_long"),
    ("correct horse battery", "correct horse batterx", "mismatch"),
    ("New.Person@Demo.test", "New.Person@Demo.test", "is_email"),
])
def test_password_problem(password, confirm, problem):
    assert r.password_problem(password, confirm, "new.person@demo.test") == problem


@pytest.mark.parametrize(("actor", "subject", "action", "role", "problem"), [
    (1, 1, "deactivate", None, "self_deactivate"),
    (1, 2, "deactivate", None, None),
    (1, 1, "role", "agent", "self_demote"),
    (1, 1, "role", "admin", None),
    (1, 2, "role", "agent", None),
    (1, 1, "mfa_reset", None, None),
])
def test_self_change_problem(actor, subject, action, role, problem):
    assert r.self_change_problem(actor_id=actor, subject_id=subject, action=action,
                                 new_role=role) == problem


@pytest.mark.parametrize(("current", "new", "problem"), [
    ("agent", "supervisor", None),
    ("admin", "compliance", None),
    ("agent", "agent", "same_role"),
    ("lender", "agent", "lender_role"),
    ("agent", "lender", "unknown_role"),
    ("agent", "root", "unknown_role"),
])
def test_role_change_problem(current, new, problem):
    assert r.role_change_problem(current, new) == problem


@pytest.mark.parametrize(("address", "shown"), [
    ("203.0.113.77", "203.0.113.•"),
    ("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3:•"),
    ("", ""),
    (None, ""),
    ("not an address", "•••"),
])
def test_mask_address(address, shown):
    assert r.mask_address(address) == shown
