"""Home, health and language choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.extensions import db
from portal.web.access import public
from portal.web.i18n import LANGUAGES

bp = Blueprint("web", __name__)


@bp.get("/")
@public
def home():
    if current_user.is_authenticated:
        if current_user.is_borrower:
            return redirect(url_for("accounts.index"))
        if current_user.role != "lender":
            return redirect(url_for("agency.accounts"))
    return render_template("web/home.html")


@bp.get("/healthz")
@public
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


def _safe_next(target: str | None) -> str:
    """Only ever go back to a path on this site."""
    if not target:
        return url_for("web.home")
    # Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil.example" and
    # "/\t/evil.example" mean "//evil.example". urlsplit (which strips tabs and newlines) and
    # werkzeug (which percent-encodes "\\" in Location) already defuse them; refuse them outright
    # rather than rely on that.
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


@bp.post("/language")
@public
def choose_language():
    code = request.form.get("lang", "")
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")), 303)
