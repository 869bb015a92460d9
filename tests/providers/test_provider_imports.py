"""DESIGN §1: providers import no Flask, no SQLAlchemy, and nothing of the other packages except
``payments.money``. The fake servers (``providers/fakes/``) may use werkzeug, still not Flask."""

import ast
from pathlib import Path

import pytest

PROVIDERS = Path(__file__).resolve().parents[2] / "providers"
FORBIDDEN = ("flask", "sqlalchemy", "payments", "receipts", "reconciliation")
ALLOWED = ("payments.money",)


def imported_modules(path: Path) -> list[str]:
    modules: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


def is_forbidden(module: str, forbidden: tuple[str, ...]) -> bool:
    if module in ALLOWED:
        return False
    return any(module == name or module.startswith(name + ".") for name in forbidden)


def adapter_files() -> list[Path]:
    return [
        p for p in sorted(PROVIDERS.rglob("*.py")) if "fakes" not in p.relative_to(PROVIDERS).parts
    ]


def test_the_walk_finds_the_adapters() -> None:
    names = {p.relative_to(PROVIDERS).as_posix() for p in adapter_files()}

    assert {"base.py", "signing.py", "paygov/client.py", "pos/callbacks.py"} <= names


@pytest.mark.parametrize("path", adapter_files(), ids=lambda p: p.relative_to(PROVIDERS).as_posix())
def test_adapters_import_no_framework_and_no_other_package(path: Path) -> None:
    bad = [m for m in imported_modules(path) if is_forbidden(m, FORBIDDEN)]

    assert bad == []


@pytest.mark.parametrize("path", sorted((PROVIDERS / "fakes").glob("*.py")), ids=lambda p: p.name)
def test_fake_servers_use_werkzeug_but_never_flask_or_sqlalchemy(path: Path) -> None:
    bad = [m for m in imported_modules(path) if is_forbidden(m, ("flask", "sqlalchemy"))]

    assert bad == []


def test_the_checker_catches_a_forbidden_import() -> None:
    assert is_forbidden("payments.models", FORBIDDEN)
    assert is_forbidden("flask", FORBIDDEN)
    assert not is_forbidden("payments.money", FORBIDDEN)
    assert not is_forbidden("paymentsx", FORBIDDEN)
