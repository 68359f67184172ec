"""cases: the chain keyed with HMAC-SHA256 over every column (issue 12)

Adds `case_event.key_id` and re-computes every stream's hashes and head under the keyed formula
(`portal.cases.chain.event_hash`, with the current key of CASE_CHAIN_KEYS), after checking the
stream under the old plain SHA-256 formula. A stream that was already broken is left exactly as
it was, its events without a key id: `cases verify` reports it ("never keyed"), so the tampering
is investigated rather than laundered into a valid keyed chain (README, "Case record").

Run it with the production CASE_CHAIN_KEYS set: the key is read from the app, never stored here.
The downgrade recomputes the plain SHA-256 chain of the streams that verify under the keys.

Revision ID: 0013_chain
Revises: 0012
"""
import itertools
import logging
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op
from flask import current_app

from portal.cases import chain

revision = "0013_chain"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
COLUMNS = ("id, stream, seq, borrower_id, account_id, kind, actor_type, actor_id, occurred_at, "
           "source, data, key_id, prev_hash, hash")
BATCH = 5000


def upgrade():
    op.add_column("case_event", sa.Column("key_id", sa.SmallInteger(), nullable=True))
    _rewrite(_rekeyed)


def downgrade():
    _rewrite(_unkeyed)
    op.drop_column("case_event", "key_id")


def _rekeyed(keys, stream, events, head):
    """The stream under the keyed formula, or None when the plain chain is already broken."""
    if not chain.legacy_intact(events, head):
        return None
    out, prev = [], chain.GENESIS
    for e in events:
        new = chain.hash_of(keys, e, key_id=keys.current, prev_hash=prev)
        out.append({"id": e.id, "key_id": keys.current, "prev_hash": prev, "hash": new})
        prev = new
    return out


def _unkeyed(keys, stream, events, head):
    """The stream under the plain formula, or None when the keyed chain does not verify."""
    last = (events[-1].seq, events[-1].hash) if events else (0, chain.GENESIS)
    if chain.verify(stream, events, keys) is not None or head != last:
        return None
    out, prev = [], chain.GENESIS
    for e in events:
        new = chain.legacy_event_hash(SimpleNamespace(**{**e._mapping, "prev_hash": prev}))
        out.append({"id": e.id, "key_id": None, "prev_hash": prev, "hash": new})
        prev = new
    return out


def _rewrite(rewritten):
    keys = current_app.extensions[chain.EXTENSION]
    bind = op.get_bind()
    heads = {s: (n, h) for s, n, h in bind.execute(
        sa.text("SELECT stream, last_seq, last_hash FROM case_stream"))}
    rows = bind.execute(sa.text(f"SELECT {COLUMNS} FROM case_event ORDER BY stream, seq")).all()
    updates, new_heads, left = [], [], []
    for stream, group in itertools.groupby(rows, key=lambda r: r.stream):
        events = list(group)
        changed = rewritten(keys, stream, events, heads.get(stream))
        if changed is None:
            left.append(stream)
            continue
        updates.extend(changed)
        new_heads.append({"stream": stream, "hash": changed[-1]["hash"]})
    if left:
        log.warning("case chain: %d stream(s) left as they were, broken: %s", len(left),
                    ", ".join(left[:20]))
    if not updates:
        return
    op.execute("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only")
    update = sa.text("UPDATE case_event SET key_id = :key_id, prev_hash = :prev_hash, "
                     "hash = :hash WHERE id = :id")
    for start in range(0, len(updates), BATCH):
        bind.execute(update, updates[start:start + BATCH])
    op.execute("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only")
    head = sa.text("UPDATE case_stream SET last_hash = :hash WHERE stream = :stream")
    for start in range(0, len(new_heads), BATCH):
        bind.execute(head, new_heads[start:start + BATCH])
