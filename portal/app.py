"""create_app(config): extensions, blueprints, CLI and error pages."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.cases.chain import EXTENSION as CHAIN_KEYS
from portal.cases.chain import ChainKeys
from portal.config import Settings, sms_settings, sqlalchemy_url
from portal.crypto import FieldCipher, LookupHasher
from portal.doctor import bp as doctor_cli
from portal.doctor import refuse_unsafe
from portal.extensions import babel, csrf, db, htmx, limiter, login, migrate
from portal.keys import bp as keys_cli
from portal.logs import configure as configure_logs
from portal.logs import keep_exception_text_out

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app from environment settings; `overrides` is for tests."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    settings = Settings.from_environ(Path(app.instance_path))
    app.config.from_mapping(_flask_config(app, settings))
    app.config.from_mapping(sms_settings())
    app.config.update(overrides or {})
    # Production with demo mode on, or demo mode holding live Stripe keys: never serve.
    refuse_unsafe(app.config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        from portal.devdb import embedded_database_url

        app.config["PORTAL_EMBEDDED_DATABASE"] = True
        url = embedded_database_url(Path(app.instance_path))
        app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(url)

    if settings.trust_proxy_hops:
        hops = settings.trust_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.extensions["portal.cipher"] = FieldCipher(app.config["FIELD_ENCRYPTION_KEYS"],
                                                  legacy=app.config["FIELD_ENCRYPTION_LEGACY"])
    app.extensions["portal.hasher"] = LookupHasher(app.config["LOOKUP_HASH_KEY"])
    app.extensions[CHAIN_KEYS] = ChainKeys(app.config["CASE_CHAIN_KEYS"])
    _register_extensions(app)
    _install_gateway(app)
    _register_jobs(app)
    _register_blueprints(app)
    from portal.web.assets import register_assets
    from portal.web.errors import register_error_pages
    from portal.web.observe import register_observation
    from portal.web.security import register_security

    register_security(app)
    register_assets(app)
    register_observation(app)
    register_error_pages(app)
    logging.getLogger("portal").setLevel(logging.INFO)
    configure_logs(app.config["LOG_FORMAT"])
    # Flask's own report of an unhandled error (app.logger) and ours: type and place, no text.
    keep_exception_text_out(app.logger, logging.getLogger("portal"))
    return app


def _flask_config(app: Flask, s: Settings) -> dict:
    return {
        "SECRET_KEY": s.secret_key,
        "PORTAL_ENV": s.env,
        "PORTAL_DEMO": s.demo_mode,
        "PORTAL_GENERATED_SECRETS": s.generated,
        "FIELD_ENCRYPTION_KEYS": s.field_keys,
        "FIELD_ENCRYPTION_LEGACY": s.legacy_fields,
        "LOOKUP_HASH_KEY": s.lookup_key,
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(s.database_url) if s.database_url else None,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c timezone=UTC"},
        },
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Plain http is only acceptable on a developer's own machine in demo mode.
        "SESSION_COOKIE_SECURE": not s.demo_mode,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "WTF_CSRF_SSL_STRICT": not s.demo_mode,
        "RATELIMIT_STORAGE_URI": s.redis_url or "memory://",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "portal",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "portal" / "translations"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "STRIPE_SECRET_KEY": s.stripe_secret_key,
        "STRIPE_PUBLISHABLE_KEY": s.stripe_publishable_key,
        "STRIPE_WEBHOOK_SECRET": s.stripe_webhook_secret,
        "STRIPE_API_BASE": s.stripe_api_base,
        "EVIDENCE_DIR": s.evidence_dir,
        "EVIDENCE_SCANNER": s.evidence_scanner,
        "CASE_CHAIN_KEYS": s.chain_keys,
        "CHAIN_EXPORT_DIR": s.chain_export_dir,
        "EVIDENCE_BUDGET": s.evidence_budget,
        "SMTP_URL": s.smtp_url,
        "MAIL_FROM": s.mail_from,
        "PUBLIC_URL": s.public_url,
        "PRINT_VENDOR_DIR": s.print_vendor_dir,
        "LOG_FORMAT": s.log_format,
        "METRICS_TOKEN": s.metrics_token,
        "MESSAGE_LEASE_SECONDS": s.message_lease_seconds,
    }


def _register_extensions(app: Flask) -> None:
    from portal.web.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login.init_app(app)
    from portal.identity import loader  # noqa: F401  registers the user loader
    from portal.models import import_all

    import_all()


def _install_gateway(app: Flask) -> None:
    from portal.payments.gateway import StripeGateway, install

    install(app, StripeGateway(
        app.config["STRIPE_SECRET_KEY"], app.config["STRIPE_PUBLISHABLE_KEY"],
        app.config["STRIPE_WEBHOOK_SECRET"], api_base=app.config["STRIPE_API_BASE"],
    ))


def _register_jobs(app: Flask) -> None:
    from portal.jobs.queue import init_app as init_jobs
    from portal.worker import REGISTRARS

    init_jobs(app, REGISTRARS)


def _register_blueprints(app: Flask) -> None:
    from portal.accounts.views import bp as accounts
    from portal.agency.cli import bp as agency_cli
    from portal.agency.cli import law_in_policies
    from portal.agency.views import bp as agency
    from portal.cases.cli import bp as cases_cli
    from portal.contact.views import bp as contact
    from portal.dashboard.views import bp as dashboard
    from portal.demo.cli import bp as demo_cli
    from portal.disputes.views import bp as disputes
    from portal.disputes.views import staff_bp as staff_disputes
    from portal.helping.views import bp as helping
    from portal.identity.views import bp as identity
    from portal.intake.views import bp as staff_imports
    from portal.lenders.cli import bp as lenders_cli
    from portal.lenders.console_views import bp as staff_statements
    from portal.lenders.views import bp as lenders
    from portal.messaging.sms.views import bp as sms_hooks
    from portal.ops.views import bp as ops
    from portal.outbox.cli import bp as webhooks_cli
    from portal.payments.cli import bp as payments_cli
    from portal.payments.views import bp as payments
    from portal.placements.cli import bp as placements_cli
    from portal.placements.recall_views import bp as recalls
    from portal.plans.cli import bp as plans_cli
    from portal.plans.views import bp as plans
    from portal.plans.views import staff_bp as staff_plans
    from portal.queues.views import bp as staff_queues
    from portal.reconcile.cli import bp as reconcile_cli
    from portal.reconcile.views import bp as reconcile
    from portal.rights.views import bp as rights
    from portal.staff.views import bp as staff_admin
    from portal.web.views import bp as web
    from portal.worker import bp as jobs_cli

    for blueprint in (web, ops, identity, accounts, contact, payments, disputes, plans, agency,
                      staff_disputes, staff_plans, cases_cli, demo_cli, jobs_cli, webhooks_cli,
                      agency_cli, payments_cli, plans_cli, doctor_cli, keys_cli, sms_hooks,
                      placements_cli, staff_imports, recalls, staff_admin, staff_queues,
                      dashboard, lenders, lenders_cli, reconcile, reconcile_cli, helping,
                      rights, staff_statements):
        app.register_blueprint(blueprint)
    # What `doctor` reports beyond the configuration: stored data that cannot take effect.
    app.extensions["doctor_checks"] = [law_in_policies]
    from portal.api.setup import init_app as init_api

    init_api(app)  # the partner JSON API, with its problem+json errors
    if app.config["PORTAL_DEMO"]:
        from portal.messaging.views import bp as dev_messages

        app.register_blueprint(dev_messages)
