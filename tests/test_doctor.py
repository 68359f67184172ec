"""Production never falls back to demo: create_app refuses production with demo mode on and demo
mode holding live Stripe keys; `flask --app portal doctor` lists what is unsafe (issue 12)."""

from __future__ import annotations

import base64
import os

import pytest

from portal import create_app

DATABASE = "postgresql://portal@db.internal:5432/portal"  # never connected to by these tests
SECRET_KEY = "doctor-test-secret-key-0123456789-abcdefghij"
LOOKUP_KEY = "doctor-test-lookup-key-0123456789-abcdef"
CHAIN_KEYS = "1:" + base64.b64encode(b"c" * 32).decode()


@pytest.fixture
def production(monkeypatch):
    """The environment of a clean production deployment; tests spoil one thing each."""
    for var, value in {
        "PORTAL_ENV": "production", "PORTAL_DEMO": "0",
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": "1:" + base64.b64encode(b"d" * 32).decode(),
        "LOOKUP_HASH_KEY": LOOKUP_KEY,
        "CASE_CHAIN_KEYS": CHAIN_KEYS,
        "DATABASE_URL": DATABASE, "REDIS_URL": "redis://127.0.0.1:6379/0",
        "STRIPE_SECRET_KEY": "sk_live_doctor", "STRIPE_PUBLISHABLE_KEY": "pk_live_doctor",
        "STRIPE_WEBHOOK_SECRET": "whsec_doctor",
    }.items():
        monkeypatch.setenv(var, value)
    for var in ("STRIPE_API_BASE", "FLASK_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_production_refuses_to_start_in_demo_mode(production):
    production.setenv("PORTAL_DEMO", "1")
    production.setenv("STRIPE_SECRET_KEY", "sk_test_doctor")
    production.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_doctor")
    with pytest.raises(RuntimeError, match=r"Refusing to start: PORTAL_DEMO=1 with "
                                           r"PORTAL_ENV=production"):
        create_app({"TESTING": True})


def test_production_refuses_to_start_without_a_case_chain_key(production):
    production.delenv("CASE_CHAIN_KEYS")
    with pytest.raises(RuntimeError, match="CASE_CHAIN_KEYS must be set when PORTAL_ENV="
                                           "production"):
        create_app({"TESTING": True})


@pytest.mark.parametrize(("var", "key"), [("STRIPE_SECRET_KEY", "sk_live_doctor"),
                                          ("STRIPE_PUBLISHABLE_KEY", "pk_live_doctor")])
def test_demo_mode_refuses_live_stripe_keys(monkeypatch, var, key):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.setenv("PORTAL_DEMO", "1")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_doctor")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_doctor")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:8420")
    monkeypatch.setenv(var, key)
    with pytest.raises(RuntimeError, match=rf"Refusing to start: demo mode has live Stripe keys "
                                           rf"in {var}:"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": DATABASE})


def test_a_clean_production_app_starts_with_secure_cookies_and_doctor_finds_nothing(production):
    app = create_app({"TESTING": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "dev_messages" not in app.blueprints
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert "Nothing unsafe found." in result.output
    assert "UNSAFE" not in result.output


def test_doctor_reports_a_finding_and_fails_without_printing_secrets(production):
    production.delenv("REDIS_URL")
    production.setenv("SECRET_KEY", "short-key-1234")
    app = create_app({"TESTING": True})
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "UNSAFE [no-redis] REDIS_URL is not set in production" in result.output
    assert "UNSAFE [secret-key-short]" in result.output
    for value in ("short-key-1234", LOOKUP_KEY, "sk_live_doctor", "whsec_doctor",
                  os.environ["FIELD_ENCRYPTION_KEYS"], CHAIN_KEYS):
        assert value not in result.output


def test_doctor_on_the_demo_app_reports_demo_mode(app):
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "UNSAFE [demo-mode]" in result.output
    assert "UNSAFE [insecure-cookies]" in result.output
    assert "UNSAFE [case_chain_keys-derived]" in result.output
