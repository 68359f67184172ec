"""Every user-facing string is in the committed English catalog (run `make translations`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "portal" / "translations"


def _ids(path: Path) -> set:
    with path.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_catalog_is_up_to_date(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "--no-location", "--omit-header",
         "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    committed = _ids(CATALOGS / "messages.pot")
    current = _ids(fresh)
    assert current - committed == set(), "strings missing from the catalog: run make translations"
    assert committed - current == set(), "stale strings in the catalog: run make translations"
    assert _ids(CATALOGS / "en" / "LC_MESSAGES" / "messages.po") == current
