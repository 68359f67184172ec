"""The borrower's "Your data" page: download, who viewed it, and asking for a correction."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.web.access import borrower_required

bp = Blueprint("rights", __name__, url_prefix="/your-data")


@bp.get("/")
@borrower_required
def page():
    return render_template("rights/page.html")
