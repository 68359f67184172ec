"""A placement file imported, against the floor of a plain PostgreSQL COPY of the same file into a
scratch table in the same run.

    .venv/bin/python bench/placements.py                  # embedded PostgreSQL, 1,000,000 rows
    .venv/bin/python bench/placements.py --rows 100000    # smaller
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/placements.py --rows 10000

It creates a database of its own (portal_bench_<pid>), migrates it, loads the demo data, writes a
file of CONTRACT.md's header (distinct people, US/GB/CN, phones and emails), then measures:

* the floor: `COPY scratch FROM STDIN (FORMAT csv, HEADER)` of the file's bytes into an unlogged
  table of text columns;
* the import: `service.start` (read, check every row, stage encrypted chunks) then every chunk
  placed (`service.run_chunk`, what the worker and `--wait` do), by this process and
  `--workers` - 1 forked ones side by side (default: one per CPU, as one worker process per
  core would);
* peak memory: the highest peak resident set (ru_maxrss) of this process or a worker;
* checking alone, the least any import does: every row checked by `rows.read_row`, and every
  phone number parsed and validated by `phonenumbers`, each timed beside the floor in one
  process with no database.

The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._env import ROOT  # noqa: E402 - sets demo mode and throwaway keys first

PLACES = [  # (country, region, city, postal code, phone prefix, currency)
    ("US", "NY", "Albany", "12207", "+1518555", "USD"),
    ("US", "CA", "Los Angeles", "90012", "+1213555", "USD"),
    ("US", "TX", "Austin", "73301", "+1512555", "USD"),
    ("GB", "", "London", "SW1A 1AA", "+44791112", "GBP"),
    ("CN", "BJ", "Beijing", "100022", "+861380013", "CNY"),
]


def placement_file(rows: int, path: Path, first: int = 0) -> None:
    """Write a file of `rows` distinct accounts of distinct people (numbered from `first`), in
    CONTRACT.md's header, to `path` as it is made (never the whole text in memory: the import's
    memory is measured)."""
    from portal.placements.rows import CONTRACT_FIELDS

    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(CONTRACT_FIELDS) + "\n")
        for n in range(first, first + rows):
            country, region, city, postal, prefix, currency = PLACES[n % len(PLACES)]
            phone = f"{prefix}{n % 10000:04d}" if country != "US" else f"{prefix}01{n % 100:02d}"
            out.write(",".join([
                f"B-{n:08d}", f"Given{n}", f"Family{n % 5000}",
                f"19{50 + n % 50}-0{1 + n % 9}-1{n % 9}",
                f"{n % 10000:04d}", f"{n % 999 + 1} Main St", "", city, region, postal, country,
                phone, f"person{n}@example.com", ("en", "es", "zh")[n % 3], currency,
                f"{100 + n % 5000}.{n % 100:02d}", "12.50", "" if n % 2 else "5.00",
                "2025-06-30", "", "", "",
            ]) + "\n")


def peak_mb() -> float:
    """The peak resident set of this process or of any worker it forked, whichever is higher."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def floor(url: str, data: bytes) -> float:
    """COPY the file's bytes into an unlogged scratch table of text columns."""
    import psycopg

    from portal.placements.rows import CONTRACT_FIELDS

    with psycopg.connect(url) as conn:
        conn.execute("CREATE UNLOGGED TABLE scratch_placement ("
                     + ", ".join(f"{f} text" for f in CONTRACT_FIELDS) + ")")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY scratch_placement FROM STDIN (FORMAT csv, HEADER)") as copy:
            for at in range(0, len(data), 1 << 20):
                copy.write(data[at:at + (1 << 20)])
        conn.commit()
        took = time.perf_counter() - started
        conn.execute("DROP TABLE scratch_placement")
        conn.commit()
    return took


def checking(data: bytes) -> tuple[float, float]:
    """The least any import of this file does in Python, in one process with no database:
    (every row read and checked by `rows.read_row`, s; every phone number alone parsed and
    validated by `phonenumbers`, s). Any import must at least check each row; the phone check
    is the library the issue names."""
    import csv
    import io
    from datetime import UTC, datetime

    import phonenumbers

    from portal.placements import rows

    today = datetime.now(UTC).date()

    def records():
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""))
        header = next(reader)
        return header, reader

    header, reader = records()
    started = time.perf_counter()
    for line, record in enumerate(reader, start=2):
        read, problems = rows.read_row(dict(zip(header, record, strict=True)), line, today)
        assert read is not None, problems
    checked = time.perf_counter() - started
    header, reader = records()
    phone, country = header.index("phone"), header.index("country")
    started = time.perf_counter()
    for record in reader:
        assert phonenumbers.is_valid_number(phonenumbers.parse(record[phone], record[country]))
    return checked, time.perf_counter() - started


def place(url: str, import_id: int) -> None:
    """A second worker: place chunks of the import until none is free (a process of its own,
    as a worker on another core or machine would)."""
    from portal import create_app
    from portal.config import sqlalchemy_url
    from portal.extensions import db
    from portal.placements import service

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "RATELIMIT_ENABLED": False})
    with app.app_context():
        while service.run_chunk(import_id) is not None:
            pass
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1000, help="rows per transaction")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes placing chunks side by side (this one and the rest)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from bench import _database
    from portal import create_app
    from portal.cases.service import Actor
    from portal.config import sqlalchemy_url
    from portal.demo.cli import seed as seed_demo
    from portal.extensions import db
    from portal.placements import service

    admin, name, url = _database.create("portal_bench")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_demo()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "placements.csv"
            placement_file(args.rows, path)
            data = path.read_bytes()  # as the command line reads it
        print(f"file: {args.rows:,} rows, {len(data) / 1e6:.0f} MB; peak memory so far "
              f"{peak_mb():.0f} MB", flush=True)
        floor_s = floor(url, data)
        print(f"floor: COPY into a scratch table: {floor_s:.2f} s = "
              f"{args.rows / floor_s:,.0f} rows/s", flush=True)

        checked_alone, phones_alone = checking(data)
        print(f"checking alone (no database, one process): every row by rows.read_row "
              f"{checked_alone:.2f} s = {checked_alone / floor_s:.1f}x the floor; the phone "
              f"numbers alone by phonenumbers {phones_alone:.2f} s = "
              f"{phones_alone / floor_s:.1f}x the floor", flush=True)

        with app.app_context():
            started, cpu_started = time.perf_counter(), time.process_time()
            imp = service.start("NWB", data, "bench.csv", Actor.system("bench"),
                                chunk_size=args.chunk, defer=False)
            checked_s = time.perf_counter() - started
            assert imp.state == "ready", imp.problems[:5]
            import_id = imp.id
            del data
            print(f"  checked and staged in {checked_s:.1f} s "
                  f"({args.rows / checked_s:,.0f} rows/s); peak memory {peak_mb():.0f} MB",
                  flush=True)
            # The other workers, forked once the staging has committed (no connection shared).
            db.session.remove()
            db.engine.dispose()
            others = [multiprocessing.get_context("fork").Process(
                target=place, args=(url, import_id)) for _ in range(args.workers - 1)]
            for other in others:
                other.start()
            shown = 0
            while (progress := service.run_chunk(import_id)) is not None:
                # Every ten chunks' worth of rows (the other workers' chunks count too).
                if progress.done_rows // (args.chunk * 10) > shown:
                    shown = progress.done_rows // (args.chunk * 10)
                    placing_s = time.perf_counter() - started - checked_s
                    print(f"  {progress.done_rows:,}/{progress.total_rows:,} rows "
                          f"({time.perf_counter() - started:.0f} s; placing "
                          f"{progress.done_rows / placing_s:,.0f} rows/s; load average "
                          f"{os.getloadavg()[0]:.1f}; peak memory {peak_mb():.0f} MB)",
                          flush=True)
            for other in others:
                other.join()
                assert other.exitcode == 0, other.exitcode
            took = time.perf_counter() - started
            final = service.progress(import_id)
            assert (final.state, final.placed) == ("done", args.rows), final
            print(f"import: {args.rows:,} rows in {took:.1f} s = {args.rows / took:,.0f} rows/s "
                  f"(chunks of {args.chunk:,}, {args.workers} placing); this process's CPU "
                  f"{time.process_time() - cpu_started:.1f} s (a shared machine's load stretches "
                  "the wall time, not this)")
            print(f"ratio import / floor: {took / floor_s:.1f}x (target 3x)")
            print(f"peak memory: {peak_mb():.0f} MB (target under 500 MB)")
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
            print(f"BENCH name=placements figure={took:.2f} floor={floor_s:.2f} "
                  f"ratio={took / floor_s:.2f} unit=s target=3 better=lower rows={args.rows} "
                  f"workers={args.workers} checking_alone={checked_alone:.2f} "
                  f"phones_alone={phones_alone:.2f} peak_mb={peak_mb():.0f}")
            db.engine.dispose()
    finally:
        _database.drop(admin, name)


if __name__ == "__main__":
    main()
