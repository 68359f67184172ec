"""Every benchmark in bench/, one after another at a size for a table run, each one's headline
(its last line, `BENCH name=... figure=... floor=... ratio=... unit=...`) collected into ONE
markdown table written into README.md between <!-- bench:start --> and <!-- bench:end -->, each
figure beside its floor measured in the same run, with the date and the load average.

    make bench                                           # every benchmark, the README's table
    .venv/bin/python bench/all.py --only web,page_time   # some; the table still written
    .venv/bin/python bench/all.py --no-readme            # print the table only

A benchmark listed here whose file does not exist (yet) is skipped and named as such; one that
fails is in the table as failed, with its exit status, and `make bench` exits 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

#: (name, arguments, environment): the size of each for a table run (minutes, not hours).
BENCHES: list[tuple[str, list[str], dict[str, str]]] = [
    ("web", ["--seconds", "20", "--borrowers", "800"], {}),
    ("webhooks", ["--payments", "1000", "--accounts", "200", "--rounds", "3"], {}),
    ("contact_scrub", ["--accounts", "100000", "--http-requests", "200"], {}),
    ("placements", ["--rows", "20000"], {}),
    ("messages", ["--messages", "1000", "--borrowers", "100"], {}),
    ("evidence", [], {}),
    ("page_time", [], {"BENCH_ROUNDS": "100"}),
    ("queues", [], {"BENCH_ITEMS": "10000", "BENCH_NOISE": "100000"}),
    ("dashboard", ["--accounts", "100000"], {}),
    ("reconcile", [], {}),
    ("statements", [], {}),
]
HEADLINE = re.compile(r"^BENCH (.*)$", re.MULTILINE)


def headline(output: str) -> dict[str, str]:
    """The last BENCH line's key=value pairs ({} when there is none)."""
    found = HEADLINE.findall(output)
    return dict(pair.split("=", 1) for pair in found[-1].split() if "=" in pair) if found else {}


def run(name: str, arguments: list[str], env: dict[str, str], logs: Path) -> dict:
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *arguments]
    print(f"== {name}: {shlex.join(command[1:])}", flush=True)
    began = time.perf_counter()
    load = os.getloadavg()[0]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, check=False)
    took = time.perf_counter() - began
    (logs / f"{name}.log").write_text(done.stdout + done.stderr)
    facts = headline(done.stdout)
    print(f"   exit {done.returncode} in {took:.0f} s: "
          f"{' '.join(f'{k}={v}' for k, v in facts.items()) or '(no BENCH line)'}", flush=True)
    return {"name": name, "facts": facts, "status": done.returncode, "seconds": took,
            "load": load, "command": " ".join(["bench/" + name + ".py", *arguments]),
            "env": " ".join(f"{k}={v}" for k, v in env.items())}


def verdict(facts: dict[str, str]) -> str:
    if "met" in facts:
        return facts["met"]
    target = facts.get("target")
    if target is None or "ratio" not in facts:
        return ""
    ratio, want = float(facts["ratio"]), float(target)
    good = ratio <= want if facts.get("better") == "lower" else ratio >= want
    return "yes" if good else "no"


def table(results: list[dict], missing: list[str], began: datetime, loads: tuple) -> str:
    lines = [f"Measured by `make bench` on {began:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
             f"load average {loads[0]} at the start and {loads[1]} at the end (the machine is "
             "shared: other work ran beside it). Each figure beside its floor, measured in the "
             "same run; ratio = figure / floor.", "",
             "| benchmark | figure | floor | unit | ratio | target | met | load | run |",
             "|---|---:|---:|---|---:|---:|---|---:|---|"]
    for r in results:
        f = r["facts"]
        if r["status"] != 0 or not f:
            lines.append(f"| {r['name']} | failed (exit {r['status']}) | | | | | | "
                         f"{r['load']:.1f} | `{r['env'] + ' ' if r['env'] else ''}"
                         f"{r['command']}` |")
            continue
        target = f.get("target", "")
        if target and f.get("better") == "lower":
            target = f"≤ {target}"
        elif target:
            target = f"≥ {target}"
        lines.append(f"| {r['name']} | {f.get('figure', '')} | {f.get('floor', '')} | "
                     f"{f.get('unit', '')} | {f.get('ratio', '')} | {target} | {verdict(f)} | "
                     f"{r['load']:.1f} | `{r['env'] + ' ' if r['env'] else ''}{r['command']}` |")
    if missing:
        lines += ["", "Not present when this ran: " + ", ".join(missing) + "."]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    body = readme.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in body and END in body:
        body = body[:body.index(START)] + block + body[body.index(END) + len(END):]
    else:
        body = body.rstrip("\n") + "\n\n## Benchmarks\n\n" + block + "\n"
    readme.write_text(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated names")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    logs = Path(os.environ.get("BENCH_LOGS") or ROOT / "instance" / "bench-logs")
    logs.mkdir(parents=True, exist_ok=True)
    began = datetime.now(UTC)
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results, missing = [], []
    for name, arguments, env in BENCHES:
        if chosen is not None and name not in chosen:
            continue
        if not (ROOT / "bench" / f"{name}.py").exists():
            missing.append(name)
            continue
        results.append(run(name, arguments, env, logs))
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = table(results, missing, began, (start_load, end_load))
    print("\n" + text)
    if not args.no_readme:
        write_readme(text)
        print(f"\nwritten into README.md between {START} and {END}; logs in {logs}")
    if any(r["status"] != 0 or not r["facts"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
