"""The hook for a malware scanner: off unless EVIDENCE_SCANNER names one ("module:function").

The function receives the file's bytes and its type and returns None for a clean file, or a short
reason to refuse it. It runs after our own checks and before anything is stored; if it fails to
answer, the upload is refused (never waved through).
"""

from __future__ import annotations

import importlib
import logging

from flask import current_app

log = logging.getLogger("portal.disputes")

#: The standard antivirus test file (harmless; every scanner flags it).
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class ScanFailed(Exception):
    """The scanner flagged the file, or could not say."""


def scanner():
    name = current_app.config.get("EVIDENCE_SCANNER")
    if not name:
        return None
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def scan(data: bytes, content_type: str) -> None:
    check = scanner()
    if check is None:
        return
    try:
        verdict = check(data, content_type)
    except Exception as exc:  # noqa: BLE001  a scanner that cannot answer refuses the file
        log.warning("evidence scanner failed: %s", type(exc).__name__)
        raise ScanFailed("scanner unavailable") from None
    if verdict:
        log.warning("evidence refused by the scanner: %s", verdict)
        raise ScanFailed(str(verdict))


def eicar_only(data: bytes, content_type: str) -> str | None:
    """A stand-in scanner that knows one signature, the EICAR test file: proves the hook works."""
    return "EICAR test signature" if EICAR in data else None
