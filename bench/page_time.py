"""How much server time a borrower's pages cost, as a ratio to the cheapest request.

The floor is GET /healthz (the full Flask stack plus one `SELECT 1`), measured in the same run,
so the ratios hold on a noisy machine where absolute times do not.

    .venv/bin/python bench/page_time.py            # embedded PostgreSQL
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/page_time.py
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench._env  # noqa: E402, F401 - sets demo mode and throwaway keys first

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))


def timed(client, path: str, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def main() -> None:
    from bench import _database

    admin, name, url = _database.create("portal_bench")
    try:
        app = _database.demo_app(url)
        client = app.test_client()
        client.post("/sign-in", data={"reference": "DEMO-1001", "dob_day": "12",
                                          "dob_month": "4", "dob_year": "1985"})
        page = client.get("/sign-in/send-code").get_data(as_text=True)
        email = re.search(r'value="(\d+)"/?>\s*<label[^>]*>Email', page).group(1)
        client.post("/sign-in/send-code", data={"destination": email})
        code = re.search(r"code is (\d{6})", client.get("/dev/messages").get_data(as_text=True))
        signed = client.post("/sign-in/code", data={"code": code.group(1)})
        assert signed.status_code == 303, "sign-in failed"

        paths = ["/healthz", "/accounts/", "/accounts/NWB-1001"]
        for path in paths:  # warm up caches, templates, connection pool
            timed(client, path, 20)
        results = {path: statistics.median(timed(client, path, ROUNDS)) for path in paths}
        floor = results["/healthz"]
        print(f"{'request':28} {'median ms':>10} {'x floor':>8}   ({ROUNDS} rounds each)")
        for path, median in results.items():
            print(f"GET {path:24} {median * 1000:10.2f} {median / floor:8.1f}")
        page = results["/accounts/NWB-1001"]
        print(f"BENCH name=page_time figure={page * 1000:.2f} floor={floor * 1000:.2f} "
              f"ratio={page / floor:.1f} unit=ms(account-page) better=lower rounds={ROUNDS}")
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()
    finally:
        _database.drop(admin, name)


if __name__ == "__main__":
    main()
