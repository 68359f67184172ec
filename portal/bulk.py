"""Many rows at once: a placement chunk's rows written by one COPY per table, in the caller's
transaction, instead of one INSERT round trip per row.

Each value goes through its column type's own bind processing first (so an `Encrypted` field is
sealed to its row exactly as an INSERT would seal it, and JSON is serialised the same way), and a
column left out gets its Python-side default, as an INSERT would give it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Table, any_, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

from portal.extensions import db


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Write these rows (each with the same keys) into `table` with one COPY."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    given = list(rows[0])
    defaults = {c.key: c.default.arg for c in table.columns
                if c.key not in given and c.default is not None and c.default.is_scalar}
    keys = given + list(defaults)
    processors = [table.c[key].type._cached_bind_processor(dialect) for key in keys]
    names = ", ".join(f'"{table.c[key].name}"' for key in keys)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [row[key] for key in given] + [defaults[key] for key in defaults]
            copy.write_row([value if process is None or value is None else process(value)
                            for value, process in zip(values, processors, strict=True)])


def draw_ids(table: str, count: int) -> list[int]:
    """Ids drawn from the table's sequence before its rows are written (an `Encrypted` field is
    sealed to its row's id, so the id comes first)."""
    if not count:
        return []
    return list(db.session.scalars(select(func.nextval(func.pg_get_serial_sequence(table, "id")))
                                   .select_from(func.generate_series(1, count))))


def any_of(values, type_: TypeEngine):
    """`= any_of(values, type)`: the values as one array parameter, where `in_` sends one
    parameter each (a chunk's thousand digests cost the driver more to parse than the database to
    look up)."""
    return any_(cast(bindparam(None, list(values), type_=ARRAY(type_)), ARRAY(type_)))


@contextmanager
def young_objects_collected() -> Iterator[None]:
    """While a chunk is placed (or a month of Stripe's objects is copied in), the garbage
    collector walks only the objects made since it began: everything older (the app, Babel's and
    phonenumbers' data, the month's objects: millions, which each full collection walked again)
    is frozen. That was a third of placing's CPU. Unfrozen after, so older garbage is collected
    as before; nothing is kept that would have been freed."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def month_sized() -> None:
    """For the rest of this transaction, a query over a month of rows (a statement's, a
    reconciliation's) is run without JIT compilation, which its row estimates invite and which
    took a second of a seven-second close on two CPUs, and sorts and groups in memory."""
    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text("SET LOCAL work_mem = '64MB'"))


def scratch_table(name: str, query: str, params: dict | None = None) -> None:
    """`name`: a table of this transaction only (dropped when it ends) holding what `query`
    gives, then analyzed, so the month's queries that join it are planned on its real size
    whatever the statistics of the tables it came from say (a million payments loaded since the
    last ANALYZE can look like one row, and nested loops planned on that run for minutes). Made
    again if this transaction made it already (the demo seed closes several statements in one)."""
    db.session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{name}"))
    db.session.execute(text(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {query}"),
                       params or {})
    db.session.execute(text(f"ANALYZE {name}"))
