"""The import directions of DESIGN §1, enforced on the source."""

from __future__ import annotations

import ast
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
