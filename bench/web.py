"""The portal's pages under load: gunicorn as the README runs it in production
(`gunicorn -c gunicorn.conf.py`), on PostgreSQL, with its job worker, localstripe and an SMTP
server; locust, headless in a process of its own, signs borrowers in through the real pages (each
with the code mailed to them, a different borrower each time) and loads their account pages; then
a mixed round in which they also pay (the whole checkout against localstripe, applied from its
webhook by the worker) and propose plans. Beside it, the same gunicorn configuration serving a
hello-world Flask app (this module's `hello_app()`): the floor, measured in the same run.

    .venv/bin/python bench/web.py                    # 32 users, 2,000 borrowers, 30 s rounds
    .venv/bin/python bench/web.py --users 32 --seconds 60 --borrowers 3000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/web.py

Rate limits are off for this run only, by configuration: gunicorn serves `bench.web:portal_app()`,
which is `create_app({"RATELIMIT_ENABLED": False})` (every sign-in comes from 127.0.0.1). The
account pages' rate counts only requests started after every user has signed in (the round
runs from then). Reported:
requests per second and p50/p99 for the floor and the account pages, and the ratio (target: at
least 50%, p99 under 100 ms), then the mixed round's figures per step, with no error allowed.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import Stack, free_port, load_average, percentile  # noqa: E402

TARGET = 0.50
P99_TARGET_MS = 100


def portal_app():
    """The production app with rate limits off (configuration): for gunicorn."""
    from portal import create_app

    return create_app({"RATELIMIT_ENABLED": False})


def hello_app():
    """The floor: a Flask app answering hello world, served by the same gunicorn settings."""
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule("/hello", "hello", lambda: "Hello, world!")
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    return app


def figures(records: list[tuple], names: set[str], since: float | None = None) -> dict:
    """Rate over the window from `since` (or the first request) to the last answer, and p50/p99."""
    chosen = [r for r in records if r[0] in names and (since is None or r[1] >= since)]
    if not chosen:
        return {"count": 0, "rate": 0.0, "p50": 0.0, "p99": 0.0}
    start = min(r[1] for r in chosen)
    end = max(r[1] + r[2] / 1000 for r in chosen)
    times = [r[2] for r in chosen]
    return {"count": len(chosen), "rate": len(chosen) / (end - start),
            "p50": percentile(times, 50), "p99": percentile(times, 99)}


def errors(records: list[tuple]) -> list[str]:
    return [f"{r[0]}: {r[4] or r[3]}" for r in records if r[4] or r[3] >= 500]


def line(name: str, f: dict) -> str:
    return (f"  {name:26} {f['count']:7d} {f['rate']:9.1f}/s {f['p50']:8.1f} {f['p99']:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=32, help="concurrent users")
    parser.add_argument("--seconds", type=float, default=30, help="length of each round")
    parser.add_argument("--borrowers", type=int, default=2000, help="borrowers seeded")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the conf's)")
    args = parser.parse_args()
    if not 0 < args.users <= 256 or args.borrowers < 4 * args.users:
        parser.error("need 0 < users <= 256 and borrowers >= 4 x users")

    stack = Stack(args.borrowers)
    finished = False
    try:
        print(f"seeded the demo data and {args.borrowers:,} borrowers in {stack.seed():.1f} s")
        stack.services()
        hello = stack.gunicorn("hello", "bench.web:hello_app()", free_port(), args.workers)
        portal = stack.gunicorn("web", "bench.web:portal_app()", stack.web_port, args.workers)
        stack.worker()
        # Warm-up, untimed: every gunicorn worker's imports, pools and templates.
        stack.locust("HelloWorld", hello, args.users, 5, 0)
        warm = stack.locust("AccountPages", portal, args.users, 5, 0, limit=300)
        first = args.users + 8
        if errors(warm):
            raise RuntimeError(f"warm-up: {errors(warm)[:5]}")

        loads = [load_average()]
        floor = figures(stack.locust("HelloWorld", hello, args.users, args.seconds, 0),
                        {"hello"})
        loads.append(load_average())
        records = stack.locust("AccountPages", portal, args.users, args.seconds, first,
                               limit=args.seconds + 300)
        first += args.users + 8
        signed = [r[1] for r in records if r[0] == "all signed in"]
        if not signed:
            raise RuntimeError("the users did not all sign in within 300 s")
        pages = figures(records, {"account pages"}, since=signed[0])
        loads.append(load_average())
        mixed = stack.locust("Mixed", portal, args.users, args.seconds, first)
        loads.append(load_average())
        stack.check()
        problems = errors(records) + errors(mixed)

        print(f"\n{args.users} concurrent users, {args.seconds:.0f} s a round, gunicorn -c "
              f"gunicorn.conf.py ({args.workers or 'its'} workers), load average before each "
              f"round and after: {' | '.join(loads)}")
        print(f"  {'':26} {'requests':>7} {'rate':>11} {'p50 ms':>8} {'p99 ms':>8}")
        print(line("hello world (floor)", floor))
        print(line("account pages", pages))
        ratio = pages["rate"] / floor["rate"]
        met = ratio >= TARGET and pages["p99"] < P99_TARGET_MS
        print(f"  account pages / floor: {ratio:.1%}; target >= {TARGET:.0%} with p99 < "
              f"{P99_TARGET_MS} ms: {'met' if met else 'NOT met'}")
        by_name = defaultdict(list)
        for record in mixed:
            by_name[record[0]].append(record)
        print("  mixed round (browse 10 : pay 2 : plan 1 : next borrower 2):")
        for name in sorted(by_name):
            print(line(name, figures(mixed, {name})))
        if problems:
            print(f"ERRORS ({len(problems)}):\n  " + "\n  ".join(problems[:20]))
            raise SystemExit(1)
        print("no errors")
        print(f"BENCH name=web figure={pages['rate']:.1f} floor={floor['rate']:.1f} "
              f"ratio={ratio:.3f} unit=req/s p50={pages['p50']:.1f} p99={pages['p99']:.1f} "
              f"target={TARGET} met={'yes' if met else 'no'}")
        finished = True
    finally:
        stack.stop(keep_logs=not finished)
        if not finished:
            print(f"logs kept in {stack.tmp}")


if __name__ == "__main__":
    main()
