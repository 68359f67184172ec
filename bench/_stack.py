"""The portal deployed as the README runs it, on a database of the benchmark's own, for the load
benchmarks (bench/web.py, bench/soak.py): gunicorn with gunicorn.conf.py, job workers, an SMTP
server (bench/_codes.py), localstripe; and locust run headless against it in a process of its own.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PREFIX = "LOAD"

os.environ.setdefault("PORTAL_DEMO", "1")
os.environ.setdefault("SECRET_KEY", "bench-load-secret-key")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "1:" + base64.b64encode(b"l" * 32).decode())
os.environ.setdefault("LOOKUP_HASH_KEY", "bench-load")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_load")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int, path: str) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        return conn.getresponse().status < 500
    except OSError:
        return False


class Stack:
    """Every process of the deployment; `stop()` ends them all and drops the database."""

    def __init__(self, borrowers: int):
        from bench import _database

        self.tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
        self.codes = self.tmp / "codes"
        self.borrowers = borrowers
        self.processes: dict[str, subprocess.Popen] = {}
        self.admin, self.name, self.url = _database.create("portal_bench_load")
        self.stripe_port, self.smtp_port = free_port(), free_port()
        self.stripe = f"http://127.0.0.1:{self.stripe_port}"
        self.env = dict(os.environ, DATABASE_URL=self.url, PYTHONPATH=str(ROOT),
                        PORTAL_ENV="development", LOG_FORMAT="json",
                        SMTP_URL=f"smtp://127.0.0.1:{self.smtp_port}",
                        STRIPE_API_BASE=self.stripe)
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server makes its own

    def seed(self) -> float:
        """Migrate, the demo data, and `borrowers` borrowers with a card account each."""
        from flask_migrate import upgrade

        from bench import _database
        from portal import create_app
        from portal.config import sqlalchemy_url

        began = time.perf_counter()
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(self.url),
                          "STRIPE_API_BASE": self.stripe})
        with app.app_context():
            from portal.demo.cli import seed
            from portal.extensions import db

            upgrade(directory=str(ROOT / "migrations"))
            seed()
            _database.place_accounts(self.borrowers, PREFIX)
            db.engine.dispose()
        return time.perf_counter() - began

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        process.log = log
        self.processes[name] = process
        return process

    def wait(self, name: str, port: int, path: str = "/healthz", timeout: float = 90) -> None:
        until = time.monotonic() + timeout
        while not _answers(port, path):
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)[-2000:]}")
            if time.monotonic() > until:
                raise RuntimeError(f"{name} did not answer {path} in {timeout:.0f} s")
            time.sleep(0.2)

    def services(self) -> None:
        """localstripe (its webhook to the portal) and the SMTP server keeping codes."""
        from portal.payments.emulator import register_webhook

        self.start("localstripe", [str(BIN / "localstripe"), "--port", str(self.stripe_port),
                                   "--from-scratch"])
        self.start("smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l",
                            f"127.0.0.1:{self.smtp_port}", "-c", "bench._codes.CodeFiles",
                            str(self.codes)])
        self.wait("localstripe", self.stripe_port, "/v1/customers")
        until = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > until:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.1)
        self.web_port = free_port()
        register_webhook(self.stripe, f"http://127.0.0.1:{self.web_port}/payments/stripe/webhook",
                         os.environ["STRIPE_WEBHOOK_SECRET"])

    def gunicorn(self, name: str, app: str, port: int, workers: int | None = None) -> str:
        """gunicorn exactly as the README runs it (-c gunicorn.conf.py), serving `app`."""
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind",
                   f"127.0.0.1:{port}"]
        if workers:
            command += ["--workers", str(workers)]
        self.start(name, command + [app])
        self.wait(name, port)
        return f"http://127.0.0.1:{port}"

    def worker(self, name: str = "worker") -> None:
        """`flask --app portal worker`, every queue, as the README runs it."""
        self.start(name, [str(BIN / "flask"), "--app", "portal", "worker"])

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: "
                                   f"{self.log(name)[-2000:]}")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def rss(self, name: str) -> int:
        """Resident memory of a process and its children (gunicorn's workers), in bytes."""
        root = psutil.Process(self.processes[name].pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])

    def locust(self, user: str, host: str, users: int, seconds: float, first: int,
               extra_env: dict | None = None, limit: float | None = None) -> list[tuple]:
        """locust headless, `users` concurrent users of class `user` for `seconds` (or until the
        users stop it, within `limit`); every request it made (name, start, ms, status,
        error)."""
        limit = limit or seconds
        label = user.replace(" ", "+")  # several user classes: "Mixed Dialer"
        record = self.tmp / f"locust-{label}-{first}.jsonl"
        env = {**self.env, "BENCH_RECORD": str(record), "BENCH_FIRST": str(first),
               "BENCH_BORROWERS": str(self.borrowers), "BENCH_PREFIX": PREFIX,
               "BENCH_CODES": str(self.codes), "BENCH_SECONDS": str(seconds),
               **(extra_env or {})}
        with open(self.tmp / f"locust-{label}-{first}.log", "wb") as log:
            subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "_locustfile.py"),
                            "--headless", "--host", host, "--users", str(users),
                            "--spawn-rate", str(users), "--run-time", f"{limit:.0f}s",
                            "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING",
                            *user.split()], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                           check=False, timeout=limit + 180)
        if not record.exists():
            raise RuntimeError(f"locust wrote no record: {self.tmp}/locust-{label}-{first}.log")
        return [tuple(json.loads(line)) for line in record.read_text().splitlines()]

    def stop(self, keep_logs: bool = False) -> None:
        """Every process ended, the database dropped; the logs too unless `keep_logs`."""
        from bench import _database

        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log.close()
        _database.drop(self.admin, self.name)
        if not keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
