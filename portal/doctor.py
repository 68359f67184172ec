"""What is unsafe in a configuration: `findings(config)`, a pure function of the app's config;
`flask --app portal doctor` lists them; create_app refuses to start on a fatal one.

Messages name settings, never their values: the output may be pasted into a ticket."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import click
from flask import Blueprint, current_app

bp = Blueprint("doctor_cli", __name__, cli_group=None)

#: Values seen in examples and tests; a key anyone can read signs nothing.
KNOWN_SECRET_KEYS = frozenset({
    "dev", "secret", "changeme", "change-me", "secret-key", "development",
    "test-secret-key-not-for-production",
})
MIN_SECRET_KEY = 32
MIN_LOOKUP_KEY = 32
LIVE_PREFIXES = ("sk_live_", "rk_live_", "pk_live_")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    #: The app refuses to start with it (create_app); the others are reported by `doctor`.
    fatal: bool = False


def _live(key: str | None) -> bool:
    return bool(key) and key.startswith(LIVE_PREFIXES)


def findings(config: Mapping) -> list[Finding]:
    """Everything unsafe in `config` (a Flask config, or any mapping of the same keys)."""
    production = config.get("PORTAL_ENV") == "production"
    demo = bool(config.get("PORTAL_DEMO"))
    generated = set(config.get("PORTAL_GENERATED_SECRETS") or ())
    found: list[Finding] = []

    def add(code: str, message: str, fatal: bool = False) -> None:
        found.append(Finding(code, message, fatal))

    if demo and production:
        add("demo-in-production", "PORTAL_DEMO=1 with PORTAL_ENV=production: demo mode serves "
            "everyone's sign-in codes at /dev/messages; set PORTAL_DEMO=0", fatal=True)
    elif demo:
        add("demo-mode", "demo mode is on (PORTAL_DEMO=1): sign-in codes are shown at "
            "/dev/messages and cookies go over plain http; never expose this to the internet")
    live = [var for var in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")
            if _live(config.get(var))]
    if demo and live:
        add("live-keys-in-demo", f"demo mode has live Stripe keys in {' and '.join(live)}: "
            "use test keys (sk_test_/pk_test_) or turn demo mode off", fatal=True)
    if config.get("DEBUG"):
        add("debug", "the Flask debugger is on (FLASK_DEBUG): it runs code for anyone who sees it")

    secret_key = config.get("SECRET_KEY") or ""
    if not secret_key:
        add("secret-key-missing", "SECRET_KEY is not set")
    elif secret_key in KNOWN_SECRET_KEYS:
        add("secret-key-default", "SECRET_KEY is a well-known default value")
    elif len(secret_key) < MIN_SECRET_KEY:
        add("secret-key-short", f"SECRET_KEY is shorter than {MIN_SECRET_KEY} characters")
    if "SECRET_KEY" in generated:
        add("secret-key-generated", "SECRET_KEY is not set: using one generated into "
            "instance/secrets/ (differs per machine)")

    for var in ("FIELD_ENCRYPTION_KEYS", "LOOKUP_HASH_KEY"):
        if not config.get(var):
            add(f"{var.lower()}-missing", f"{var} is not set")
        elif var in generated:
            add(f"{var.lower()}-generated", f"{var} is not set: using one generated into "
                "instance/secrets/ (not backed up, one machine only; data encrypted with a lost "
                "key cannot be read)")
    if not config.get("CASE_CHAIN_KEYS"):
        add("case_chain_keys-missing", "CASE_CHAIN_KEYS is not set: case events cannot be "
            "signed", fatal=production)
    elif "CASE_CHAIN_KEYS" in generated:
        add("case_chain_keys-derived", "CASE_CHAIN_KEYS is not set: using one derived from "
            "SECRET_KEY (anyone who has that key can rewrite the case record unseen; set a key "
            "of its own, kept outside the database)", fatal=production)
    lookup = config.get("LOOKUP_HASH_KEY") or ""
    if lookup and len(lookup) < MIN_LOOKUP_KEY:
        add("lookup-key-short", f"LOOKUP_HASH_KEY is shorter than {MIN_LOOKUP_KEY} characters")

    if production and str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        add("no-redis", "REDIS_URL is not set in production: rate limits are counted per "
            "process, so each gunicorn worker allows the full limit")
    if production and config.get("PORTAL_EMBEDDED_DATABASE"):
        add("embedded-database", "DATABASE_URL is not set in production: the embedded "
            "PostgreSQL of instance/pgdata is used")
    test_keys = [var for var in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")
                 if str(config.get(var) or "").startswith(("sk_test_", "rk_test_", "pk_test_"))]
    if production and test_keys:
        add("stripe-test-keys", f"{' and '.join(test_keys)} hold Stripe test keys in "
            "production: no card is really charged")
    if not demo and config.get("STRIPE_API_BASE"):
        add("stripe-emulator", "STRIPE_API_BASE is set outside demo mode: payments go to a "
            "Stripe emulator, not Stripe")

    webhook = config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not webhook:
        add("webhook-secret-missing", "STRIPE_WEBHOOK_SECRET is not set: Stripe events "
            "cannot be verified")
    elif "STRIPE_WEBHOOK_SECRET" in generated:
        add("webhook-secret-generated", "STRIPE_WEBHOOK_SECRET is not set: using one generated "
            "into instance/secrets/, which Stripe does not know")
    elif not webhook.startswith("whsec_"):
        add("webhook-secret-malformed", "STRIPE_WEBHOOK_SECRET does not look like a Stripe "
            "signing secret (whsec_...)")

    insecure = [var for var in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
                                "WTF_CSRF_SSL_STRICT") if not config.get(var)]
    if insecure:
        add("insecure-cookies", f"{', '.join(insecure)} off: session cookies and CSRF checks "
            "work over plain http")
    return found


def refuse_unsafe(config: Mapping) -> None:
    """Raise (at create_app) on a configuration that must never serve anyone."""
    fatal = [f.message for f in findings(config) if f.fatal]
    if fatal:
        raise RuntimeError("Refusing to start: " + "; ".join(fatal))


@bp.cli.command("doctor")
def doctor() -> None:
    """List what is unsafe in the current configuration (exit 1 if anything is), then warnings
    about stored data that cannot take effect."""
    found = findings(current_app.config)
    for finding in found:
        click.echo(f"UNSAFE [{finding.code}] {finding.message}")
    # Warnings about stored data the app registered checks for (they do not fail the run).
    for check in current_app.extensions.get("doctor_checks", ()):
        for code, message in check():
            click.echo(f"WARNING [{code}] {message}")
    if found:
        click.echo(f"{len(found)} unsafe setting(s).")
        raise SystemExit(1)
    click.echo("Nothing unsafe found.")
