"""The shape of the code, checked: no import cycles, no imports hidden in functions, and every
module imports only from its own floor or below (README, "Layout")."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"

#: The floors, bottom up (DESIGN.md). A module's floor is that of the longest prefix named here.
FLOORS = {
    "portal.money": 1, "portal.crypto": 1, "portal.config": 1, "portal.extensions": 1,
    "portal.lifecycle": 1, "portal.logs": 1, "portal.operations": 1, "portal.numbers": 1,
    "portal.jobs": 1,
    "portal.devdb": 1, "portal.web.i18n": 1, "portal.doctor": 1, "portal.web.assets": 1,
    "portal.csvsafe": 1, "portal.keys": 1, "portal.words": 1,
    # One multi-row INSERT per batch (placement chunks).
    "portal.bulk": 1,
    # The one PDF writer (receipts, letters): fpdf2 set up once.
    "portal.pdf": 1,
    "portal.cases": 2, "portal.accounts": 2, "portal.identity": 2,
    # The tenant every row belongs to: read on every floor, so it sits with the record.
    "portal.agency.models": 2,
    # Which agency's accounts a staff user or an endpoint may see: read by every staff query
    # and by the outbox, so it sits with the tenant it names.
    "portal.agency.scope": 2,
    "portal.contact": 3, "portal.messaging": 3, "portal.outbox": 3,
    "portal.payments": 4, "portal.plans": 4, "portal.disputes": 4, "portal.placements": 4,
    "portal.notices": 4,
    # The console's placement import pages: above the placement engine and the agency's
    # tenancy (beside agency/, not in it: placements reaches the tenant through contact).
    "portal.intake": 4,
    "portal.agency": 4, "portal.lenders": 4, "portal.api": 4, "portal.demo": 4,
    # The case view's reads and actions: a capability of its own (it uses contact, which reads
    # the agency's scope, so it cannot sit in the agency package without a package cycle).
    "portal.casework": 4, "portal.staff": 4,
    # The console's queues: read every capability's waiting rows (plans, disputes, attempts...).
    "portal.queues": 4,
    # The supervisor's dashboard: reads every capability's rollup (payments, plans, disputes,
    # holds, contact attempts).
    "portal.dashboard": 4,
    # Someone helping a borrower (grants, what a helper reaches) and the borrower's data rights:
    # they read every capability's rows (plans, disputes, payments) and start contact holds.
    "portal.helping": 4, "portal.rights": 4,
    # Readiness and metrics read every capability's tables (payments, the outbox, the queue).
    "portal.ops": 4,
    # Reconciliation with Stripe: reads payments and their balance transactions (settlement).
    "portal.reconcile": 4,
}
#: The top: what puts the app together and what serves people and programs (views, forms,
#: commands). They may import any floor; nothing below imports them. A capability's tasks.py
#: sits on its own floor (it registers that capability's jobs).
EDGE_NAMES = {"views", "forms", "cli", "setup"}
EDGE_MODULES = {"portal", "portal.app", "portal.models", "portal.worker",
                # The console's recall pages (views of their own beside the placement import's).
                "portal.placements.recall_views",
                # The console's statements pages (beside the lender's own, in lenders/views).
                "portal.lenders.console_views"}
#: Where an import inside a function is the point: the app factory and the model registry.
DEFERRED_ALLOWED = {"portal.app", "portal.models"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PORTAL.rglob("*.py"):
        parts = path.relative_to(PORTAL.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        # `from portal import numbers` imports the module numbers; `from x import name`, x.
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix
                 for a in node.names]
    return sorted({n for n in names if n in MODULES})


def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """(module -> modules it imports at load time, imports made inside functions or classes)."""
    top: dict[str, set[str]] = defaultdict(set)
    deferred = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"

        def walk(node, nested, module=module, is_package=is_package):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue  # annotations only: never executed
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    for target in _targets(child, module, is_package):
                        if target == module:
                            continue
                        if nested:
                            deferred.append((module, target, child.lineno))
                        else:
                            top[module].add(target)
                else:
                    walk(child, nested or isinstance(
                        child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)),
                         module, is_package)

        walk(tree, False)
    return top, deferred


TOP, DEFERRED = _imports()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def _edge(module: str) -> bool:
    return module in EDGE_MODULES or module.rsplit(".", 1)[-1] in EDGE_NAMES or (
        module.startswith("portal.web.") and module != "portal.web.i18n") or module == "portal.web"


def floor_of(module: str) -> int | None:
    if _edge(module):
        return None
    matches = [p for p in FLOORS if module == p or module.startswith(p + ".")]
    return FLOORS[max(matches, key=len)] if matches else 0


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_module_imports_another_in_a_cycle():
    assert _cycles(TOP) == []


def test_no_cycle_between_packages_below_the_edge():
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in TOP.items():
        if _edge(module):
            continue
        for target in targets:
            if _package(target) != _package(module) and not _edge(target):
                packages[_package(module)].add(_package(target))
    assert _cycles(packages) == []


def test_no_import_of_portal_inside_a_function_but_in_the_factory_and_the_registry():
    hidden = [f"{m} imports {t} at line {n}" for m, t, n in DEFERRED if m not in DEFERRED_ALLOWED]
    assert hidden == []


def test_every_module_has_a_floor_or_is_the_edge():
    assert [m for m in MODULES if floor_of(m) == 0] == []


def test_each_module_imports_only_its_own_floor_or_below():
    upward = [f"{m} (floor {floor_of(m)}) imports {t} (floor {floor_of(t)})"
              for m, targets in TOP.items() if floor_of(m)
              for t in sorted(targets) if floor_of(t) is None or floor_of(t) > floor_of(m)]
    assert upward == []


def test_nothing_below_the_edge_imports_a_view():
    assert [(m, t) for m, targets in TOP.items() if not _edge(m)
            for t in targets if t.endswith(".views")] == []


@pytest.mark.parametrize(("source", "expected"), [
    ("from portal.payments import checkout\n", {"portal.payments.checkout"}),
    ("def f():\n    from portal.money import Money\n", set()),
])
def test_the_walk_sees_what_it_checks(tmp_path, source, expected):
    """The checks above would pass vacuously if the walk saw nothing: it finds both kinds."""
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
    found = set(_targets(node, "portal.plans.charging", False))
    nested = not isinstance(tree.body[0], (ast.Import, ast.ImportFrom))
    assert (set() if nested else found) == expected
    assert found  # both name a real portal module
    assert DEFERRED  # the factory's and the registry's imports are found, so a new one would be
    assert "portal.payments.applying" in TOP["portal.plans.charging"]
