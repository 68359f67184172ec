"""Signed exports of the chains' heads, one new file per export in CHAIN_EXPORT_DIR (never
rewritten), so a database writer who deletes the newest events and rewinds a head is still seen."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

from portal.cases import chain

PREFIX = "heads-"


@dataclass(frozen=True)
class Export:
    """One export file whose signature verified: when, and each stream's (seq, hash)."""

    name: str
    exported_at: str
    streams: dict[str, tuple[int, str]]


def folder() -> Path:
    """CHAIN_EXPORT_DIR, by default instance/chain-heads (point it at write-once storage)."""
    return Path(current_app.config.get("CHAIN_EXPORT_DIR") or
                Path(current_app.instance_path) / "chain-heads")


def write(keys: chain.ChainKeys, exported_at: datetime,
          heads: Mapping[str, tuple[int, str]]) -> Export:
    """A new signed file: created exclusively (an earlier export is never overwritten), synced,
    then made read-only."""
    doc = chain.sign_heads(keys, exported_at, heads)
    directory = folder()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = exported_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{PREFIX}{stamp}-{secrets.token_hex(4)}.json"
    with path.open("x", encoding="utf-8") as out:
        json.dump(doc, out, sort_keys=True, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    path.chmod(0o444)
    return Export(path.name, doc["exported_at"], dict(heads))


def _read(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def latest(keys: chain.ChainKeys) -> tuple[Export | None, list[str]]:
    """The newest export whose signature verifies, and the names of newer ones that do not."""
    directory = folder()
    names = sorted((p.name for p in directory.glob(f"{PREFIX}*.json")), reverse=True) \
        if directory.is_dir() else []
    bad = []
    for name in names:
        doc = _read(directory / name)
        if chain.heads_signed(keys, doc):
            streams = {s: (int(v[0]), str(v[1])) for s, v in doc["streams"].items()}
            return Export(name, doc["exported_at"], streams), bad
        bad.append(name)
    return None, bad
