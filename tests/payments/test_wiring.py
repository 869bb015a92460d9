"""The start-up wiring: what it registers belongs to one container or one app, never a module."""

from __future__ import annotations

from pathlib import Path

from conftest import TEST_SECRET

from payments.app import build_container, create_app
from payments.cli import cli
from payments.config import Settings
from receipts.services import add_receipts_to_requests

JOB_IDS = {
    "outbox",
    "expire_requests",
    "receipt_summaries",
    "paygov_poll",
    "budget_overdue_reminders",
}


def offline_settings(tmp_path: Path) -> Settings:
    # nothing here connects: the engine is created, never used
    return Settings.from_env(
        {}, database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}", secret_key=TEST_SECRET
    )


def test_each_container_holds_its_own_jobs_extensions_and_gauges(tmp_path: Path) -> None:
    first, second = (build_container(offline_settings(tmp_path)) for _ in range(2))

    first.jobs.clear()
    first.view_extensions.clear()
    first.gauges.clear()

    assert {job.id for job in second.jobs} >= JOB_IDS
    assert len({job.id for job in second.jobs}) == len(second.jobs) == 6
    assert second.view_extensions == [add_receipts_to_requests]
    assert {"thuphi_receipts", "thuphi_reconciliation_exceptions"} <= set(second.gauges)


def test_each_app_documents_every_package_once(tmp_path: Path) -> None:
    container = build_container(offline_settings(tmp_path))
    specs = [
        create_app(container=container).test_client().get("/api/openapi.json").get_json()
        for _ in range(2)
    ]

    assert specs[0] == specs[1]
    paths = specs[0]["paths"]
    assert {"/api/v1/payment-requests", "/api/v1/receipts"} <= set(paths)
    assert "/api/v1/accounts/{account_id}/statements" in paths


def test_the_thuphi_command_has_every_package_group_on_import() -> None:
    assert {
        "db",
        "catalog",
        "clients",
        "users",
        "scheduler",
        "demo",
        "outbox",
        "vietqr",
        "receipts",
        "statements",
        "reconcile",
    } <= set(cli.commands)
