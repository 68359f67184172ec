"""The job queue's shape: it sits below every capability (imports none of them), nothing of ours
reads the job engine's tables, and the worker runs exactly the tasks, queues, locks and schedules
that deployments already have jobs queued under."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from croniter import croniter

from portal.jobs.queue import job_app
from tests.conftest import ROOT

PORTAL = ROOT / "portal"
#: What the job queue may import of ours: the floor it stands on.
QUEUE_MAY_IMPORT = {"portal.extensions", "portal.config", "portal.logs"}


def _imports(path: Path, package: str) -> set[str]:
    """Every module a file of `package` imports, anywhere in it (inside functions too), relative
    imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "portal" or m.startswith("portal.")}


def test_the_job_queue_imports_nothing_of_the_domain():
    files = sorted((PORTAL / "jobs").glob("*.py"))
    assert PORTAL / "jobs" / "queue.py" in files
    for path in files:
        ours = _ours(_imports(path, "portal.jobs"))
        # `from portal.extensions import db` names both the module and `portal.extensions.db`.
        allowed = {m for m in ours if any(m == a or m.startswith(a + ".")
                                          for a in QUEUE_MAY_IMPORT | {"portal.jobs"})}
        assert ours - allowed == set(), path.name


def test_the_import_check_sees_a_domain_import_inside_a_function(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def late():\n    from portal.payments.reconcile import reconcile\n"
                     "from ..outbox import tasks\n")
    found = _ours(_imports(probe, "portal.jobs"))
    assert {"portal.payments.reconcile", "portal.outbox.tasks"} <= found


def test_no_module_of_ours_reads_the_job_engines_tables():
    """procrastinate's tables are its own (made by migration 0004): we defer through its API."""
    table = re.compile(r"\bprocrastinate_\w+")
    for path in sorted(PORTAL.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not table.search(node.value), f"{path.relative_to(ROOT)}: {node.value!r}"


#: Every task as it was when all of them lived in one module: name -> (queue, queueing lock,
#: whether it is handed its job context). Jobs already queued in a database carry these names.
TASKS = {
    "placements.run": ("placements", "placements.run", True),
    "outbox.sweep": ("outbox", "outbox.sweep", True),
    "outbox.deliver": ("outbox", None, True),
    "contact.end_lapsed_holds": ("outbox", "contact.end_lapsed_holds", False),
    "payments.reconcile": ("payments", "payments.reconcile", False),
    "plans.charge_due": ("payments", "plans.charge_due", False),
    "payments.sweep_events": ("stripe-events", "payments.sweep_events", True),
    "payments.apply_events": ("stripe-events", "payments.apply_events", True),
    "cases.export_heads": ("cases", "cases.export_heads", False),
    "messaging.send": ("messaging", None, True),
    "messaging.sweep": ("messaging", "messaging.sweep", True),
    "reconcile.run": ("payments", "reconcile.run", False),
}
#: (task, periodic id) -> cron (a sixth field, the last, is seconds). The periodic id keys the
#: record of which tick was deferred, so a changed one would defer some ticks twice after a
#: deployment.
PERIODIC = {
    ("outbox.sweep", "outbox"): "* * * * * */5",
    ("placements.run", "placements"): "* * * * *",
    ("contact.end_lapsed_holds", "holds"): "* * * * *",
    ("payments.reconcile", "payments"): "* * * * *",
    ("plans.charge_due", "plans"): "*/5 * * * *",
    ("payments.sweep_events", "stripe-events"): "* * * * * */2",
    ("cases.export_heads", "chain-heads"): "0 * * * *",
    ("messaging.sweep", "messaging"): "* * * * * */5",
    ("reconcile.run", "reconcile"): "17 * * * *",
}
#: task -> seconds between two runs, as the tasks' docstrings promise.
EVERY = {"outbox.sweep": 5, "contact.end_lapsed_holds": 60, "payments.reconcile": 60,
         "plans.charge_due": 300, "payments.sweep_events": 2, "cases.export_heads": 3600,
         "messaging.sweep": 5, "placements.run": 60, "reconcile.run": 3600}


@pytest.mark.parametrize("start", [datetime(2026, 12, 3, 4, 23, 46, tzinfo=UTC),
                                   datetime(2026, 12, 3, 4, 25, 0, tzinfo=UTC)])
def test_each_periodic_task_runs_as_often_as_it_says_at_any_minute(start):
    """croniter (procrastinate's cron) reads a sixth field as seconds, last: "*/5 * * * * *" was
    every second of every fifth minute, and no sweep at all in the four minutes between."""
    for (task, _periodic_id), cron in PERIODIC.items():
        ticks = croniter(cron, start)
        times = [ticks.get_next(datetime) for _ in range(4)]
        gaps = {(later - earlier).total_seconds() for earlier, later in pairwise(times)}
        assert gaps == {EVERY[task]}, (task, cron, gaps)
        assert (times[0] - start).total_seconds() <= EVERY[task], (task, cron)


def test_the_worker_registers_the_same_tasks_and_schedules_as_before(app):
    jobs = job_app(app)
    ours = {name: (task.queue, task.queueing_lock, task.pass_context)
            for name, task in jobs.tasks.items() if "builtin_tasks" not in name}
    assert ours == TASKS
    assert {key: periodic.cron for key, periodic
            in jobs.periodic_registry.periodic_tasks.items()} == PERIODIC
