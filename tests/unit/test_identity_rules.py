"""Sign-in rules: masking, lockout, code life, idle timeout."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.identity import rules
from portal.identity.roles import allows

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("alex@example.com", "a***@e***.com"),
        ("wangfang@example.com.cn", "w***@e***.cn"),
        ("x@localhost", "x***@l***"),
    ],
)
def test_mask_email(address, masked):
    assert rules.mask_email(address) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+12135550147", "•••• ••• 47"), ("+447911123456", "•••• ••• 56"), ("12", "••••")],
)
def test_mask_phone(number, masked):
    assert rules.mask_phone(number) == masked


@pytest.mark.parametrize(
    ("minutes_ago", "locked"),
    [
        ([1, 2, 3, 4], False),  # four failures: not yet
        ([1, 2, 3, 4, 5], True),  # the fifth locks
        ([1, 2, 3, 4, 20], False),  # one is outside the 15-minute window
        ([16, 17, 18, 19, 20], False),  # all old: the lock has lapsed
    ],
)
def test_lockout(minutes_ago, locked):
    failures = [NOW - timedelta(minutes=m) for m in minutes_ago]
    until = rules.lockout_until(failures, NOW)
    assert (until is not None) == locked
    if locked:
        assert until == NOW - timedelta(minutes=1) + rules.LOCKOUT_WINDOW


@pytest.mark.parametrize(
    ("age_minutes", "attempts", "consumed", "usable"),
    [
        (0, 0, False, True),
        (9, 4, False, True),
        (10, 0, False, False),  # expired at exactly 10 minutes
        (1, 5, False, False),  # five tries used
        (1, 0, True, False),  # already used
    ],
)
def test_code_usable(age_minutes, attempts, consumed, usable):
    created = NOW - timedelta(minutes=age_minutes)
    assert rules.code_usable(created_at=created, attempts=attempts, consumed=consumed,
                             now=NOW) is usable


@pytest.mark.parametrize(
    ("typed", "normal"),
    [(" demo-1001 ", "DEMO-1001"), ("DEMO- 1001", "DEMO-1001"), ("", "")],
)
def test_normalise_reference(typed, normal):
    assert rules.normalise_reference(typed) == normal


def test_idle_expiry_at_fifteen_minutes():
    assert not rules.idle_expired(NOW - timedelta(minutes=14, seconds=59), NOW)
    assert rules.idle_expired(NOW - timedelta(minutes=15), NOW)


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("admin", "view_cases", True),
        ("agent", "view_cases", True),
        ("compliance", "view_cases", True),
        ("lender", "view_cases", False),
        ("lender", "view_portfolio", True),
        ("agent", "manage_staff", False),
        # Placement imports: agents preview, supervisors and admins import, compliance reads.
        ("agent", "preview_imports", True),
        ("agent", "run_imports", False),
        ("supervisor", "run_imports", True),
        ("supervisor", "manage_staff", False),
        ("admin", "run_imports", True),
        ("compliance", "view_imports", True),
        ("compliance", "preview_imports", False),
        ("lender", "view_imports", False),
        # The creditors' statements: every staff role reads them; supervisors, compliance and
        # admins close them; only admins add commission terms; a lender uses its own portal.
        ("agent", "view_statements", True),
        ("agent", "close_statements", False),
        ("supervisor", "close_statements", True),
        ("compliance", "close_statements", True),
        ("admin", "close_statements", True),
        ("supervisor", "set_commission_terms", False),
        ("compliance", "set_commission_terms", False),
        ("admin", "set_commission_terms", True),
        ("lender", "view_statements", False),
        ("nobody", "view_cases", False),
    ],
)
def test_role_permissions(role, permission, allowed):
    assert allows(role, permission) is allowed


def test_full_width_digits_count_as_digits():
    assert rules.normalise_code("１２３ ４５６") == "123456"
    assert rules.CODE_PATTERN.match(rules.normalise_code("１２３４５６"))
