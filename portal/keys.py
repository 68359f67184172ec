"""`flask --app portal keys rotate`: re-seal encrypted fields with the newest key, bound to their
rows, so old keys can be retired and no field stays in the legacy column-only format."""

from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import func, or_, select
from sqlalchemy.orm.attributes import flag_modified

from portal.crypto import ROW_BOUND, cipher, encrypted_fields
from portal.extensions import db
from portal.operations import operation

bp = Blueprint("keys_cli", __name__, cli_group="keys")

BATCH = 500


def _sealed_models() -> list[tuple[type, list[tuple[str, str]]]]:
    """Every mapped class with encrypted fields, and those fields, in table order."""
    found = [(m.class_, encrypted_fields(m)) for m in db.Model.registry.mappers]
    return sorted([(cls, fields) for cls, fields in found if fields],
                  key=lambda pair: pair[0].__tablename__)


@operation
def _reseal_batch(model: type, fields: list[tuple[str, str]], after: int) -> tuple[int, int]:
    """Re-seal the next rows (by id, after `after`) holding a stale field: (rows, last id)."""
    table, current = model.__table__, cipher().current
    stale = or_(*(or_(func.get_byte(table.c[key], 0) != ROW_BOUND,
                      func.get_byte(table.c[key], 1) != current) for key, _purpose in fields))
    rows = db.session.scalars(select(model).where(model.id > after, stale)
                              .order_by(model.id).limit(BATCH).with_for_update()).all()
    for row in rows:
        for key, _purpose in fields:
            if getattr(row, key) is not None:
                flag_modified(row, key)  # written again: sealed with the current key, bound
    return len(rows), rows[-1].id if rows else after


def rotate() -> dict[str, int]:
    """Re-seal every stale field, a batch per transaction; how many rows, by table."""
    done = {}
    for model, fields in _sealed_models():
        after, total = 0, 0
        while True:
            count, after = _reseal_batch(model, fields, after)
            total += count
            if count < BATCH:
                break
        done[model.__tablename__] = total
    return done


@bp.cli.command("rotate")
def rotate_command():
    """Re-seal every field written with an older key or before fields were bound to their row."""
    for table, count in rotate().items():
        click.echo(f"{table}: {count} rows re-sealed")
