"""The scheduler's overdue reminders: an obligation is reminded from the day after its deadline,
for the weekly rule (Thursday of the next week) and the monthly rule (day N of the next month),
once per agency, fee, period and day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from factories import CA, STP, Collections
from sqlalchemy import func, select

from payments.http import Container
from payments.outbox.models import OutboxEvent
from receipts.budget import reminders
from receipts.budget.models import OverdueReminder
from receipts.budget.services import RecordRemittance, record_remittance

# (agency, fee, kind, amount, collected on, due on)
WEEKLY = (CA, "GPLX", "le_phi", 135_000, date(2026, 11, 11), date(2026, 11, 19))
MONTHLY = (STP, "LLTP", "phi", 200_000, date(2026, 11, 10), date(2026, 12, 5))
OWED = {"GPLX": 135_000, "LLTP": 200_000 - 162_000 - 8_000}  # 81 % kept, 4 % to the centre


def mine(made: list[dict[str, Any]], agency: str, fee: str) -> list[dict[str, Any]]:
    return [r for r in made if (r["agency_code"], r["fee_code"]) == (agency, fee)]


@pytest.mark.parametrize("rule", [WEEKLY, MONTHLY], ids=["weekly", "monthly"])
def test_an_obligation_is_reminded_from_the_day_after_its_deadline_once_a_day(
    container: Container, catalog: Any, rule: tuple[Any, ...]
) -> None:
    agency, fee, kind, amount, collected_on, due = rule
    Collections(container).receipt(agency, fee, kind, amount, collected_on)

    before = reminders.remind_overdue(due - timedelta(days=1), uow=container.uow())
    on_the_day = reminders.remind_overdue(due, uow=container.uow())
    after = reminders.remind_overdue(due + timedelta(days=1), uow=container.uow())

    assert mine(before, agency, fee) == [] and mine(on_the_day, agency, fee) == []
    [reminder] = mine(after, agency, fee)
    assert reminder["amount"] == OWED[fee]
    assert reminder["due_on"] == due.isoformat()
    assert reminder["day"] == (due + timedelta(days=1)).isoformat()
    # the same day again reminds nothing more; the next day reminds again
    assert reminders.remind_overdue(due + timedelta(days=1), uow=container.uow()) == []
    assert len(reminders.remind_overdue(due + timedelta(days=2), uow=container.uow())) == 1
    with container.uow() as uow:
        events = uow.session.execute(
            select(OutboxEvent.aggregate_id, OutboxEvent.payload)
            .where(OutboxEvent.topic == reminders.TOPIC)
            .order_by(OutboxEvent.id)
        ).all()
        rows = uow.session.scalar(select(func.count()).select_from(OverdueReminder))
    assert [aggregate for aggregate, _ in events] == [agency, agency] and rows == 2
    assert events[0][1] == reminder


def test_an_obligation_paid_by_its_deadline_is_never_reminded(
    container: Container, catalog: Any
) -> None:
    agency, fee, kind, amount, collected_on, due = WEEKLY
    Collections(container).receipt(agency, fee, kind, amount, collected_on)
    cmd = RecordRemittance(agency, OWED[fee], due, "GNT-ON-TIME")
    record_remittance(cmd, uow=container.uow(), principal=None)

    assert reminders.remind_overdue(due + timedelta(days=1), uow=container.uow()) == []


def test_the_reminder_job_is_in_the_schedulers_table_once_a_day(container: Container) -> None:
    [job] = [j for j in container.jobs if j.id == reminders.JOB_ID]
    assert (job.trigger, job.period_seconds) == ("cron", 24 * 3600)
    assert job.trigger_args["timezone"] == "Asia/Ho_Chi_Minh"
