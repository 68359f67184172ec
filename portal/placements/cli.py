"""`flask --app portal placements ...`: placement files and recalls from the command line."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("placements_cli", __name__, cli_group="placements")
