"""The per-process catalog cache follows every catalog write, whatever made it."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from payments.catalog.services import catalog_token, import_catalog
from payments.http import Container
from payments.payment_requests.services import quote

LLTP = "1.001234"
DAY = date(2026, 6, 1)


def lltp_amount(container: Container) -> int:
    with container.uow() as uow:
        _, (line,) = quote(uow.session, LLTP, "counter", DAY, None)
    return line.amount


def test_a_quote_after_a_catalog_import_uses_the_imported_amount(
    container: Container, catalog: dict[str, Any]
) -> None:
    assert lltp_amount(container) == 200_000  # cached from here on
    changed = copy.deepcopy(catalog)
    procedure = next(p for p in changed["procedures"] if p["code"] == LLTP)
    procedure["fees"][0]["amount"] = 250_000
    import_catalog(changed, uow=container.uow())
    assert lltp_amount(container) == 250_000


def test_a_catalog_row_changed_by_hand_is_seen_by_the_next_quote(
    container: Container, catalog: dict[str, Any]
) -> None:
    assert lltp_amount(container) == 200_000
    with container.engine.begin() as conn:
        conn.execute(text("UPDATE fee_items SET amount = 180000 WHERE code = 'LLTP'"))
    assert lltp_amount(container) == 180_000


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE reduction_policies SET value = value",
        "UPDATE beneficiary_accounts SET account_name = account_name",
        "UPDATE procedures SET name = name",
        "UPDATE agencies SET name = name",
        "DELETE FROM reduction_policies WHERE id = 'no-such-policy'",
    ],
)
def test_every_write_to_a_catalog_table_changes_the_catalog_token(
    container: Container, catalog: dict[str, Any], statement: str
) -> None:
    with container.uow() as uow:
        before = catalog_token(uow.session)
    with container.engine.begin() as conn:
        conn.execute(text(statement))
    with container.uow() as uow:
        after = catalog_token(uow.session)
    assert before is not None and after is not None
    if container.engine.dialect.name == "sqlite" and statement.startswith("DELETE"):
        # SQLite's triggers fire per row: deleting nothing changes nothing (and needs nothing)
        return
    assert after != before
