"""Receipt XML and daily summaries (Mẫu 01/TH-BLĐT) reach the tax authority through the outbox;
what is late is visible; the CLI prints receipts and the backlog."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from receipts_testkit import (  # noqa: F401 - fixtures
    CA,
    STC,
    Kit,
    SteppingClock,
    kit_fixture,
    signing_files_fixture,
    wire_tax,
)
from sqlalchemy import select

from payments.app import create_app
from payments.cli import cli
from providers.fakes.taxauthority import FakeTaxAuthority
from providers.taxauthority import summary_problems
from providers.taxauthority.schemas import RECEIPTS_PATH, SUMMARIES_PATH
from receipts.jobs import create_daily_summaries, pending_tax, summarise_recent
from receipts.models import Receipt, ReceiptSummary

DAY1 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, 20 Nov
DAY2 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def issue_on(kit: Kit, clock: SteppingClock, moment: datetime, procedures: list[str]) -> None:
    clock.flip(moment)
    for procedure in procedures:
        request = kit.create(procedure)
        kit.pay(request)
    kit.drain()


@pytest.fixture
def tax() -> Any:
    with FakeTaxAuthority() as server:
        yield server


def test_a_tax_authority_outage_delays_but_loses_nothing(kit: Kit, tax: FakeTaxAuthority) -> None:
    clock = SteppingClock(DAY1)
    wire_tax(kit, tax.url, clock)
    tax.down = True
    issue_on(kit, clock, DAY1, ["1.012345", "2.001610", "1.012345"])
    issue_on(kit, clock, DAY2, ["2.001610", "1.012345"])
    # finished days, no summary yet: visible
    report = pending_tax(uow=kit.container.uow(), now=DAY2 + timedelta(days=1))
    assert {(d["agency_code"], str(d["date"])) for d in report["days_without_summary"]} == {
        (CA, "2026-11-20"),
        (STC, "2026-11-20"),
        (CA, "2026-11-21"),
        (STC, "2026-11-21"),
    }
    created = summarise_recent(uow=kit.container.uow(), today=date(2026, 11, 22))
    assert len(created) == 4
    assert summarise_recent(uow=kit.container.uow(), today=date(2026, 11, 22)) == []
    for day in range(1, 4):  # several rounds of failures while the tax authority is down
        kit.drain(now=datetime.now(UTC) + timedelta(days=day))
    report = pending_tax(uow=kit.container.uow())
    assert len(report["receipts"]) == 7 and len(report["summaries"]) == 4
    delivery = report["summaries"][0]["delivery"]
    assert delivery["attempts"] >= 2 and "503" in delivery["last_error"]
    assert report["days_without_summary"] == []

    tax.down = False
    kit.drain(now=datetime.now(UTC) + timedelta(days=5))
    report = pending_tax(uow=kit.container.uow())
    assert report["receipts"] == [] and report["summaries"] == []
    paths = Counter(a.path for a in tax.accepted.values())
    assert paths == {RECEIPTS_PATH: 7, SUMMARIES_PATH: 4}  # every one, each once
    with kit.container.uow() as uow:
        summaries = list(uow.session.scalars(select(ReceiptSummary).order_by(ReceiptSummary.id)))
        statuses = {r.tax_authority_status for r in uow.session.scalars(select(Receipt))}
        documents = [(s.series, s.day, s.document) for s in summaries]
    assert statuses == {"accepted"}
    sent = {
        json.loads(a.body)["series"] + json.loads(a.body)["date"]
        for a in tax.accepted.values()
        if a.path == SUMMARIES_PATH
    }
    assert sent == {f"{series}{day}" for series, day, _ in documents}
    for _series, _day, document in documents:
        assert summary_problems(document) == []
    ca_day1 = next(d for s, day, d in documents if s == "26TCA" and day == date(2026, 11, 20))
    assert (ca_day1["from_number"], ca_day1["to_number"], ca_day1["count"]) == (1, 2, 2)
    stc_day2 = next(d for s, day, d in documents if s == "26TTC" and day == date(2026, 11, 21))
    assert (stc_day2["from_number"], stc_day2["to_number"]) == (3, 4)
    assert stc_day2["totals"] == {"phi": 100_000, "le_phi": 50_000, "total": 150_000}


def test_a_day_is_summarised_once(kit: Kit, tax: FakeTaxAuthority) -> None:
    clock = SteppingClock(DAY1)
    wire_tax(kit, tax.url, clock)
    issue_on(kit, clock, DAY1, ["1.012345"])
    assert len(create_daily_summaries(date(2026, 11, 20), uow=kit.container.uow())) == 1
    assert create_daily_summaries(date(2026, 11, 20), uow=kit.container.uow()) == []
    assert create_daily_summaries(date(2026, 11, 19), uow=kit.container.uow()) == []
    kit.drain()
    assert [a.path for a in tax.accepted.values()].count(SUMMARIES_PATH) == 1


def test_the_cli_lists_shows_and_reports_the_backlog(kit: Kit) -> None:
    request = kit.create("2.001610")
    kit.pay(request)
    kit.drain()  # THUPHI_TAX_URL is unset here: the submissions wait, visibly
    info = ScriptInfo(create_app=lambda: create_app(container=kit.container))
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, list(args), obj=info, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    listed = run("receipts", "list", "--payment-request", request["id"], "--json")
    assert [(r["series"], r["number"]) for r in listed["items"]] == [("26TTC", 1), ("26TTC", 2)]
    shown = run("receipts", "show", listed["items"][0]["id"], "--json")
    assert shown["amount_in_words"] == "Một trăm nghìn đồng"
    backlog = run("receipts", "pending-tax", "--json")
    assert len(backlog["receipts"]) == 2
    assert "THUPHI_TAX_URL" in backlog["receipts"][0]["delivery"]["last_error"]
    human = runner.invoke(cli, ["receipts", "pending-tax"], obj=info)
    assert "receipts not accepted: 2" in human.output
    missing = runner.invoke(cli, ["receipts", "show", "nope", "--json"], obj=info)
    assert missing.exit_code == 1 and json.loads(missing.output)["code"] == "not-found"


def test_metrics_count_receipts_the_tax_authority_has_not_accepted_yet(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    clock = SteppingClock(DAY1)
    wire_tax(kit, tax.url, clock)
    tax.down = True
    issue_on(kit, clock, DAY1, ["1.012345", "2.001610"])
    with kit.container.uow() as uow:
        issued = len(uow.session.scalars(select(Receipt)).all())
    assert issued >= 2
    scrape = create_app(container=kit.container).test_client().get("/metrics").text
    assert f'thuphi_receipts{{status="issued",tax_status="pending"}} {issued}.0' in scrape

    tax.down = False
    kit.drain(now=datetime.now(UTC) + timedelta(days=1))
    scrape = create_app(container=kit.container).test_client().get("/metrics").text
    assert 'tax_status="pending"' not in scrape
    assert f'thuphi_receipts{{status="issued",tax_status="accepted"}} {issued}.0' in scrape
