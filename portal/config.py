"""Settings from environment variables: one place, typed, with safe defaults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def _read_or_create(path: Path, make: callable) -> str:
    """Keep demo secrets stable across restarts without anyone having to set them."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


#: The Stripe emulator (localstripe) that `make run` starts on this machine.
EMULATOR = "http://127.0.0.1:8420"


def _required(env, var: str) -> str:
    if not env.get(var):
        raise RuntimeError(f"{var} must be set with real Stripe keys")
    return env[var]


def derived_key(secret_key: str) -> str:
    """A case-chain key derived from SECRET_KEY: for demo, development and tests only."""
    raw = hmac.new(secret_key.encode(), b"portal case chain key", hashlib.sha256).digest()
    return "1:" + base64.b64encode(raw).decode()


def _new_key() -> str:
    return "1:" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from the environment, resolved once."""

    env: str
    secret_key: str
    database_url: str | None
    redis_url: str | None
    field_keys: str
    lookup_key: str
    trust_proxy_hops: int
    demo_mode: bool
    stripe_secret_key: str
    stripe_publishable_key: str
    stripe_webhook_secret: str
    #: Where the Stripe API is: None for Stripe itself; the emulator's address in demo mode.
    stripe_api_base: str | None
    #: Where dispute evidence is kept (encrypted); default instance/evidence, outside the web root.
    evidence_dir: str | None = None
    #: "module:function" of a malware scanner for uploads; None: no scanner.
    evidence_scanner: str | None = None
    #: HMAC keys of the case-event chain, "id:base64,..." (the highest id signs); outside
    #: production, derived from the secret key when not set.
    chain_keys: str = ""
    #: Where signed exports of the chains' heads go; default instance/chain-heads.
    chain_export_dir: str | None = None
    #: Where letters are left for the print vendor (a PDF and a manifest each); None: no
    #: letters are printed (demo mode captures them at /dev/messages).
    print_vendor_dir: str | None = None
    #: Whether fields sealed before rows were bound (format 1) still open; "0" once
    #: `flask --app portal keys rotate` has re-sealed them, so none can be pasted in from a backup.
    legacy_fields: bool = True
    #: What checking evidence may decode (README, "Disputes"): MB inflated from a PDF's streams,
    #: per file and per request; megapixels of an image, per image and per request.
    evidence_budget: tuple[int, int, int, int] = (64, 128, 24, 100)
    #: Where email goes: smtp://user:pass@host:port (STARTTLS with ?starttls=1) or smtps://
    #: (implicit TLS); None: captured at /dev/messages in demo mode, refused outside it.
    smtp_url: str | None = None
    #: The From address of an agency that has none of its own.
    mail_from: str = "Borrower portal <no-reply@localhost>"
    #: The portal's address as borrowers reach it, for links in messages (opt-out, sign-in).
    public_url: str = "http://127.0.0.1:5000"
    #: The secrets not set in the environment, generated into instance/secrets/ (demo only).
    generated: tuple[str, ...] = ()
    #: "json" (one object a line, the default in production) or "text".
    log_format: str = "text"
    #: The bearer token `/metrics` asks for; None: `/metrics` answers 404.
    metrics_token: str | None = None
    #: Seconds a worker holds the messages it leased; a worker that dies holds them this long
    #: before another takes them (README, "Messages to borrowers").
    message_lease_seconds: float = 60.0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_environ(cls, instance_path: Path, environ: dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        name = env.get("PORTAL_ENV", "development")
        production = name == "production"
        secrets_dir = instance_path / "secrets"
        generated = []

        def secret(var: str, make: callable) -> str:
            if env.get(var):
                return env[var]
            if production:
                raise RuntimeError(f"{var} must be set when PORTAL_ENV=production")
            generated.append(var)
            return _read_or_create(secrets_dir / var.lower(), make)

        # Real Stripe keys (test or live mode) when set without STRIPE_API_BASE; otherwise the
        # emulator that `make run` starts (any sk_/pk_ key is accepted there).
        real_stripe = bool(env.get("STRIPE_SECRET_KEY")) and not env.get("STRIPE_API_BASE")
        if production and not real_stripe:
            raise RuntimeError("STRIPE_SECRET_KEY must be set (and STRIPE_API_BASE not) "
                               "when PORTAL_ENV=production")
        api_base = None if real_stripe else env.get("STRIPE_API_BASE", EMULATOR)
        secret_key = secret("SECRET_KEY", lambda: secrets.token_urlsafe(48))
        # The chain key must live outside the database, like the encryption keys; a demo or a
        # developer's machine gets one derived from the secret key (listed by `doctor`).
        chain_keys = env.get("CASE_CHAIN_KEYS")
        if not chain_keys:
            if production:
                raise RuntimeError("CASE_CHAIN_KEYS must be set when PORTAL_ENV=production")
            generated.append("CASE_CHAIN_KEYS")
            chain_keys = derived_key(secret_key)
        return cls(
            env=name,
            secret_key=secret_key,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            field_keys=secret("FIELD_ENCRYPTION_KEYS", _new_key),
            lookup_key=secret("LOOKUP_HASH_KEY", lambda: secrets.token_urlsafe(32)),
            trust_proxy_hops=int(env.get("TRUST_PROXY_HOPS", "0")),
            demo_mode=env.get("PORTAL_DEMO", "0" if production else "1") == "1",
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or "sk_test_emulator",
            stripe_publishable_key=(_required(env, "STRIPE_PUBLISHABLE_KEY") if real_stripe
                                    else env.get("STRIPE_PUBLISHABLE_KEY") or "pk_test_emulator"),
            stripe_webhook_secret=(_required(env, "STRIPE_WEBHOOK_SECRET") if real_stripe else
                                   secret("STRIPE_WEBHOOK_SECRET",
                                          lambda: "whsec_" + secrets.token_urlsafe(24))),
            stripe_api_base=api_base.rstrip("/") if api_base else None,
            evidence_dir=env.get("EVIDENCE_DIR") or None,
            evidence_scanner=env.get("EVIDENCE_SCANNER") or None,
            chain_keys=chain_keys,
            chain_export_dir=env.get("CHAIN_EXPORT_DIR") or None,
            print_vendor_dir=env.get("PRINT_VENDOR_DIR") or None,
            legacy_fields=env.get("FIELD_ENCRYPTION_LEGACY", "1") != "0",
            evidence_budget=tuple(int(env.get(var) or default) for var, default in (
                ("EVIDENCE_INFLATED_MB_PER_FILE", 64), ("EVIDENCE_INFLATED_MB_PER_REQUEST", 128),
                ("EVIDENCE_MEGAPIXELS_PER_IMAGE", 24), ("EVIDENCE_MEGAPIXELS_PER_REQUEST", 100))),
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or "Borrower portal <no-reply@localhost>",
            public_url=(env.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
            generated=tuple(generated),
            log_format=_log_format(env.get("LOG_FORMAT") or ("json" if production else "text")),
            metrics_token=env.get("METRICS_TOKEN") or None,
            message_lease_seconds=_positive(env, "MESSAGE_LEASE_SECONDS", 60.0),
        )


def _positive(env, var: str, default: float) -> float:
    try:
        value = float(env.get(var) or default)
    except ValueError:
        raise RuntimeError(f"{var} must be a number of seconds") from None
    if value <= 0:
        raise RuntimeError(f"{var} must be more than 0")
    return value


def _log_format(value: str) -> str:
    if value not in ("json", "text"):
        raise RuntimeError("LOG_FORMAT must be json or text")
    return value


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 whatever scheme the operator wrote."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL")


def sms_settings(environ: dict | None = None) -> dict:
    """Text-message settings (README, "Text messages"): which provider, its keys, where it is."""
    env = os.environ if environ is None else environ
    names = ("SMS_PROVIDER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
             "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE", "SMS_GATEWAY_URL",
             "SMS_GATEWAY_SECRET", "SMS_GATEWAY_FROM", "PUBLIC_BASE_URL", "SMS_HELP_PHONE",
             "SMS_HELP_WEBSITE")
    settings: dict = {name: env.get(name) or None for name in names}
    settings["SMS_PROVIDER"] = (settings["SMS_PROVIDER"] or "").lower() or None
    settings["SMS_TIMEOUT"] = float(env.get("SMS_TIMEOUT") or 10)
    return settings
