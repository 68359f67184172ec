"""Home, health and language choice."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.extensions import db
from portal.web.access import public
from portal.web.i18n import LANGUAGES
from portal.web.redirects import safe_path

bp = Blueprint("web", __name__)


@bp.get("/")
@public
def home():
    if current_user.is_authenticated:
        if current_user.is_borrower:
            return redirect(url_for("accounts.index"))
        if current_user.role == "lender":
            return redirect(url_for("lenders.portfolio_page"))
        return redirect(url_for("agency.accounts"))
    return render_template("web/home.html")


@bp.get("/healthz")
@public
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.post("/language")
@public
def choose_language():
    code = request.form.get("lang", "")
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_path(request.form.get("next")), 303)
