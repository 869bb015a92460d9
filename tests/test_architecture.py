"""The import directions of DESIGN §1 and the size and shape of modules (STYLE 23), enforced on
the source."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("payments", "providers", "receipts", "reconciliation")
# the composition root: the app factory's wiring is the one place that imports every package
COMPOSITION_ROOT = {
    "payments/wiring.py",
    "payments/models_all.py",
    "payments/cli.py",
    "payments/app.py",
    "payments/migrations/env.py",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def test_providers_import_no_flask_or_sqlalchemy() -> None:
    bad = {}
    for path in modules("providers"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("providers/fakes/"):
            continue  # fake servers for tests and the demo, never imported by adapters
        found = {
            n
            for n in imports_of(path)
            if top(n) in {"flask", "sqlalchemy", "receipts", "reconciliation"}
            or (top(n) == "payments" and n != "payments.money")
        }
        if found:
            bad[rel] = sorted(found)
    assert bad == {}


def test_adapters_never_import_the_fakes() -> None:
    bad = [
        p.relative_to(ROOT).as_posix()
        for p in modules("providers")
        if "providers/fakes/" not in p.as_posix()
        and any(n.startswith("providers.fakes") for n in imports_of(p))
    ]
    assert bad == []


@pytest.mark.parametrize("forbidden", ["receipts", "reconciliation"])
def test_payments_imports_neither_receipts_nor_reconciliation(forbidden: str) -> None:
    bad = [
        p.relative_to(ROOT).as_posix()
        for p in modules("payments")
        if p.relative_to(ROOT).as_posix() not in COMPOSITION_ROOT
        and any(top(n) == forbidden for n in imports_of(p))
    ]
    assert bad == []


def test_receipts_does_not_import_reconciliation() -> None:
    bad = [
        p.relative_to(ROOT).as_posix()
        for p in modules("receipts")
        if any(top(n) == "reconciliation" for n in imports_of(p))
    ]
    assert bad == []


def test_the_checker_sees_imports() -> None:
    # guard against a checker that silently finds nothing
    assert "payments.money" in imports_of(ROOT / "payments" / "fees" / "engine.py")
    assert len(modules("payments")) > 10


# --- rooms stay small and one-way (STYLE 23) ------------------------------------------------------

MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def application_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in modules(package)}


def imports_run(path: Path, *, in_functions: bool = False) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: its body, including ``if``/``try`` blocks,
    class bodies, not ``if TYPE_CHECKING:`` blocks; with ``in_functions``, function bodies too."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif in_functions or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit([n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module a ``from … import`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def imported_modules(node: ast.Import | ast.ImportFrom, importer: str, path: Path) -> set[str]:
    """Every module of ours that importing ``node`` runs: the named one and, before it, the
    packages it sits in (``a.b.c`` runs ``a.b``), except those the importer sits in already."""
    known = application_modules()
    if isinstance(node, ast.Import):
        named = {alias.name for alias in node.names}
    else:
        base = absolute(node, importer, path.name == "__init__.py")
        named = {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    out: set[str] = set()
    for name in named:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            inside = f"{importer}.".startswith(f"{candidate}.")
            if candidate in known and not inside:
                out.add(candidate)
    return out


def import_graph(*, in_functions: bool = False) -> dict[str, set[str]]:
    return {
        name: {
            module
            for node in imports_run(path, in_functions=in_functions)
            for module in imported_modules(node, name, path)
        }
        for name, path in application_modules().items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_inside_a_function_closes_a_cycle() -> None:
    # an import moved into a function hides a cycle from the import system, not from the design
    assert cycles(import_graph(in_functions=True)) == []


def test_the_cycle_checker_sees_a_cycle() -> None:
    # guard against a checker that silently finds nothing
    graph = import_graph()
    assert "payments.money" in graph["payments.fees.engine"]
    # a package's own re-exports are no cycle: a.b.c runs a.b only when imported from outside
    assert "payments.payment_requests.services" in graph["payments.checkout.services"]
    graph["payments.money"] = {"payments.fees.engine"}
    assert cycles(graph) == [["payments.fees.engine", "payments.money"]]


def package_of(name: str, is_package: bool) -> str:
    return name if is_package else name.rpartition(".")[0]


def private_imports(name: str, source: str, is_package: bool, known: dict[str, Path]) -> list[str]:
    """``from x import _name`` (or from a ``_private`` module) where x lies outside the importer's
    package (or the packages it sits in): a private name is its package's business."""
    home = package_of(name, is_package)
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = absolute(node, name, is_package)
        is_package = base in known and known[base].name == "__init__.py"
        there = package_of(base, is_package)
        private = [a.name for a in node.names if a.name.startswith("_")]
        private += [part for part in base.split(".") if part.startswith("_")]
        if top(base) in PACKAGES and private and not f"{home}.".startswith(f"{there}."):
            bad.append(f"{name}: from {base} import {', '.join(private)}")
    return bad


def test_no_private_name_is_imported_from_another_package() -> None:
    known = application_modules()
    bad = [
        found
        for name, path in known.items()
        for found in private_imports(
            name, path.read_text(encoding="utf-8"), path.name == "__init__.py", known
        )
    ]
    assert bad == []


def test_the_private_import_checker_sees_one() -> None:
    known = application_modules()
    source = "from payments.fees.engine import _x\nfrom .views import _y\n"
    # another package's private name is refused; one of the importer's own package is not
    assert private_imports("payments.checkout.services", source, False, known) == [
        "payments.checkout.services: from payments.fees.engine import _x"
    ]
    assert private_imports("payments.fees.rules", source, False, known) == []


def test_no_application_module_is_over_500_lines() -> None:
    long = {
        p.relative_to(ROOT).as_posix(): n
        for package in PACKAGES
        for p in modules(package)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


# --- one decision path: statuses are spelled only where they are decided (issue 16) --------------

# the enum's definition, the state table that names, groups and moves the statuses, the decision
STATUS_HOMES = {
    "payments/payment_requests/models.py",
    "payments/payment_requests/state.py",
    "payments/transactions/ledger.py",
}
STATUS_HOME_DIRS = ("payments/migrations/",)  # frozen history


def status_spellings(source: str) -> list[str]:
    """Every ``RequestStatus.X`` (under any name the module binds the enum to)."""
    tree = ast.parse(source)
    names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name == "RequestStatus"
    }
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in names
    ]


def test_no_request_status_is_spelled_outside_the_state_module() -> None:
    spelled = {
        path: found
        for path, file in (
            (p.relative_to(ROOT).as_posix(), p) for package in PACKAGES for p in modules(package)
        )
        if path not in STATUS_HOMES and not path.startswith(STATUS_HOME_DIRS)
        if (found := status_spellings(file.read_text(encoding="utf-8")))
    }
    assert spelled == {}


def test_the_status_checker_sees_a_spelling() -> None:
    source = "from payments.payment_requests.models import RequestStatus as S\nx = S.PAID\n"
    assert status_spellings(source) == ["S.PAID"]
