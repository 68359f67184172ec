"""A soak: the deployment of bench/web.py (gunicorn -c gunicorn.conf.py, a job worker,
localstripe, SMTP) under SOAK_SECONDS (default 600) of mixed traffic from locust, 32 users:
borrowers signing in by mailed code, browsing their accounts, paying (the whole checkout, applied
from localstripe's webhook by the worker), proposing plans and disputing; a dialer asking the API
for contact decisions; and, every IMPORT_EVERY seconds (default 60), a placement file of 25 new
accounts imported with `flask --app portal placements import` (each placing its first letters
through the worker). It fails on any error (a 5xx, a failed request, a step that did not happen,
an import that did not place every row) and prints the resident memory of the web processes
(gunicorn and its workers) and of the job worker at the start and at the end.

    SOAK_SECONDS=600 DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/soak.py

gunicorn recycles each worker after about 2,000 requests (gunicorn.conf.py), so the web figure
is the sum over whichever workers are alive at that moment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import BIN, Stack, load_average  # noqa: E402
from bench.placements import placement_file  # noqa: E402
from bench.web import errors  # noqa: E402

USERS = 32
#: Each import's accounts, numbered apart from everything else in the database.
IMPORT_ROWS, IMPORT_FIRST = 25, 50_000_000


def imports(stack: Stack, every: float, stop: threading.Event, records: list) -> None:
    """A placement file imported every `every` seconds until `stop`, each one recorded as a
    request is (name, start, ms, status, error): status 0 when it placed every row."""
    for n in range(10_000):
        if stop.wait(every):
            return
        path = stack.tmp / f"placement-{n}.csv"
        placement_file(IMPORT_ROWS, path, first=IMPORT_FIRST + n * IMPORT_ROWS)
        began = time.time()
        done = subprocess.run([str(BIN / "flask"), "--app", "portal", "placements", "import",
                               str(path), "--creditor", "NWB"], env=stack.env,
                              capture_output=True, text=True, check=False, timeout=300)
        placed = re.search(r"placed (\d+)", done.stdout)
        ok = done.returncode == 0 and placed is not None and int(placed.group(1)) == IMPORT_ROWS
        records.append(("import: placement file", began, (time.time() - began) * 1000,
                        0 if ok else 500, None if ok else (done.stdout + done.stderr)[-300:]))


def mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def main() -> None:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    borrowers = int(os.environ.get("SOAK_BORROWERS", str(max(200, int(seconds * 4)))))
    stack = Stack(borrowers)
    finished = False
    try:
        print(f"seeded the demo data and {borrowers:,} borrowers in {stack.seed():.1f} s")
        stack.services()
        portal = stack.gunicorn("web", "bench.web:portal_app()", stack.web_port)
        stack.worker()
        stack.locust("AccountPages", portal, USERS, 3, 0, limit=300)  # warm-up
        start = {"web": stack.rss("web"), "worker": stack.rss("worker")}
        print(f"start: load average {load_average()}; RSS web {mb(start['web'])}, worker "
              f"{mb(start['worker'])}")
        imported: list[tuple] = []
        stop = threading.Event()
        importer = threading.Thread(target=imports, args=(
            stack, float(os.environ.get("IMPORT_EVERY", "60")), stop, imported))
        importer.start()
        try:
            records = stack.locust("Mixed Dialer", portal, USERS, seconds, USERS + 8)
        finally:
            stop.set()
            importer.join()
        records += imported
        stack.check()
        end = {"web": stack.rss("web"), "worker": stack.rss("worker")}
        print(f"end:   load average {load_average()}; RSS web {mb(end['web'])}, worker "
              f"{mb(end['worker'])}")
        counts = Counter(r[0] for r in records)
        print(f"{seconds:.0f} s, {USERS} users, {len(records):,} requests: " + ", ".join(
            f"{name} {n:,}" for name, n in sorted(counts.items())))
        problems = errors(records) + [f"{r[0]}: status {r[3]}" for r in records
                                      if not r[4] and r[3] >= 400]
        if problems:
            print(f"ERRORS ({len(problems)}):\n  " + "\n  ".join(problems[:20]))
            raise SystemExit(1)
        print("no errors")
        growth = {k: end[k] / start[k] - 1 for k in start}
        print(f"BENCH name=soak figure={len(records) / seconds:.1f} floor=0 ratio=0 unit=req/s "
              f"errors=0 web_rss_start_mb={start['web'] // 2**20} "
              f"web_rss_end_mb={end['web'] // 2**20} "
              f"worker_rss_start_mb={start['worker'] // 2**20} "
              f"worker_rss_end_mb={end['worker'] // 2**20} "
              f"web_growth={growth['web']:.1%} worker_growth={growth['worker']:.1%}")
        finished = True
    finally:
        stack.stop(keep_logs=not finished)
        if not finished:
            print(f"logs kept in {stack.tmp}")


if __name__ == "__main__":
    main()
