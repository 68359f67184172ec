"""Evidence files on disk: outside the web root, under random names, encrypted (AES-GCM, the
field keys, bound to the file's name so a file cannot be swapped for another)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

from portal.crypto import cipher


def folder() -> Path:
    path = Path(current_app.config.get("EVIDENCE_DIR") or
                Path(current_app.instance_path) / "evidence")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write(data: bytes) -> str:
    """Store the bytes encrypted; returns the random name they are kept under."""
    name = secrets.token_hex(32)
    sealed = cipher().encrypt_bytes(data, f"evidence:{name}")
    target = folder() / name
    temporary = target.with_suffix(".part")
    with open(temporary, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as handle:
        handle.write(sealed)
    temporary.replace(target)
    return name


def read(name: str) -> bytes:
    return cipher().decrypt_bytes((folder() / name).read_bytes(), f"evidence:{name}")


def remove(names: list[str]) -> None:
    """Take back files written for a transaction that did not commit."""
    for name in names:
        (folder() / name).unlink(missing_ok=True)
