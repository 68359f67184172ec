"""findings(config): what is unsafe in a configuration, one row per finding."""

from __future__ import annotations

import pytest

from portal.doctor import findings

#: A production configuration with nothing unsafe in it.
CLEAN = {
    "PORTAL_ENV": "production",
    "PORTAL_DEMO": False,
    "PORTAL_GENERATED_SECRETS": (),
    "DEBUG": False,
    "SECRET_KEY": "s" * 48,
    "FIELD_ENCRYPTION_KEYS": "1:" + "a" * 44,
    "LOOKUP_HASH_KEY": "l" * 40,
    "CASE_CHAIN_KEYS": "1:" + "c" * 44,
    "RATELIMIT_STORAGE_URI": "redis://cache.internal:6379/0",
    "STRIPE_SECRET_KEY": "sk_live_abc",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "STRIPE_API_BASE": None,
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "WTF_CSRF_SSL_STRICT": True,
}

DEMO = {**CLEAN, "PORTAL_ENV": "development", "PORTAL_DEMO": True,
        "STRIPE_SECRET_KEY": "sk_test_emulator", "STRIPE_PUBLISHABLE_KEY": "pk_test_emulator",
        "STRIPE_API_BASE": "http://127.0.0.1:8420", "SESSION_COOKIE_SECURE": False,
        "WTF_CSRF_SSL_STRICT": False}


def test_a_clean_production_configuration_has_no_findings():
    assert findings(CLEAN) == []


@pytest.mark.parametrize(("base", "changes", "codes", "fatal"), [
    # The clean configuration holds live keys: both refusals.
    (CLEAN, {"PORTAL_DEMO": True}, ["demo-in-production", "live-keys-in-demo"], True),
    (CLEAN, {"PORTAL_DEMO": True, "STRIPE_SECRET_KEY": "sk_test_x",
             "STRIPE_PUBLISHABLE_KEY": "pk_test_x"},
     ["demo-in-production", "stripe-test-keys"], True),
    (DEMO, {}, ["demo-mode", "insecure-cookies"], False),
    (DEMO, {"STRIPE_SECRET_KEY": "sk_live_x"}, ["demo-mode", "live-keys-in-demo",
                                                "insecure-cookies"], True),
    (DEMO, {"STRIPE_PUBLISHABLE_KEY": "pk_live_x"}, ["demo-mode", "live-keys-in-demo",
                                                     "insecure-cookies"], True),
    (DEMO, {"STRIPE_SECRET_KEY": "rk_live_x"}, ["demo-mode", "live-keys-in-demo",
                                                "insecure-cookies"], True),
    (CLEAN, {"DEBUG": True}, ["debug"], False),
    (CLEAN, {"SECRET_KEY": ""}, ["secret-key-missing"], False),
    (CLEAN, {"SECRET_KEY": "changeme"}, ["secret-key-default"], False),
    (CLEAN, {"SECRET_KEY": "test-secret-key-not-for-production"}, ["secret-key-default"], False),
    (CLEAN, {"SECRET_KEY": "short-but-random-31-characters!"}, ["secret-key-short"], False),
    (CLEAN, {"PORTAL_GENERATED_SECRETS": ("SECRET_KEY",)}, ["secret-key-generated"], False),
    (CLEAN, {"FIELD_ENCRYPTION_KEYS": ""}, ["field_encryption_keys-missing"], False),
    (CLEAN, {"PORTAL_GENERATED_SECRETS": ("FIELD_ENCRYPTION_KEYS",)},
     ["field_encryption_keys-generated"], False),
    (CLEAN, {"LOOKUP_HASH_KEY": None}, ["lookup_hash_key-missing"], False),
    (CLEAN, {"PORTAL_GENERATED_SECRETS": ("LOOKUP_HASH_KEY",)},
     ["lookup_hash_key-generated"], False),
    (CLEAN, {"LOOKUP_HASH_KEY": "test-lookup-key"}, ["lookup-key-short"], False),
    # The case chain's key must be one of its own in production (issue 12).
    (CLEAN, {"CASE_CHAIN_KEYS": ""}, ["case_chain_keys-missing"], True),
    (CLEAN, {"PORTAL_GENERATED_SECRETS": ("CASE_CHAIN_KEYS",)}, ["case_chain_keys-derived"], True),
    (DEMO, {"PORTAL_GENERATED_SECRETS": ("CASE_CHAIN_KEYS",)},
     ["demo-mode", "case_chain_keys-derived", "insecure-cookies"], False),
    (CLEAN, {"RATELIMIT_STORAGE_URI": "memory://"}, ["no-redis"], False),
    (DEMO, {"RATELIMIT_STORAGE_URI": "memory://"}, ["demo-mode", "insecure-cookies"], False),
    (CLEAN, {"PORTAL_EMBEDDED_DATABASE": True}, ["embedded-database"], False),
    (CLEAN, {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"},
     ["stripe-test-keys"], False),
    (CLEAN, {"STRIPE_API_BASE": "http://127.0.0.1:8420"}, ["stripe-emulator"], False),
    (CLEAN, {"STRIPE_WEBHOOK_SECRET": ""}, ["webhook-secret-missing"], False),
    (CLEAN, {"STRIPE_WEBHOOK_SECRET": "abc"}, ["webhook-secret-malformed"], False),
    (CLEAN, {"PORTAL_GENERATED_SECRETS": ("STRIPE_WEBHOOK_SECRET",)},
     ["webhook-secret-generated"], False),
    (CLEAN, {"SESSION_COOKIE_SECURE": False}, ["insecure-cookies"], False),
    (CLEAN, {"SESSION_COOKIE_HTTPONLY": False}, ["insecure-cookies"], False),
    (CLEAN, {"WTF_CSRF_SSL_STRICT": False}, ["insecure-cookies"], False),
])
def test_findings(base, changes, codes, fatal):
    found = findings({**base, **changes})
    assert [f.code for f in found] == codes
    assert any(f.fatal for f in found) is fatal


def test_messages_name_settings_never_their_values():
    secrets = {"SECRET_KEY": "hunter2-short", "LOOKUP_HASH_KEY": "lk-9f8e7d",
               "STRIPE_SECRET_KEY": "sk_live_SUPERSECRET", "STRIPE_WEBHOOK_SECRET": "not-whsec-xyz"}
    found = findings({**DEMO, **secrets})
    text = " ".join(f.message for f in found)
    assert {"secret-key-short", "lookup-key-short", "live-keys-in-demo",
            "webhook-secret-malformed"} <= {f.code for f in found}
    for value in secrets.values():
        assert value not in text
