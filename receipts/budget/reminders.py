"""The scheduler's daily reminder of what is overdue to the state budget (DESIGN §2): for each
agency, every obligation still outstanding after its deadline on the day given becomes a reminder
row and a ``budget.overdue`` outbox event, once per (agency, fee, period, day)."""

from __future__ import annotations

from datetime import date
from typing import Any

import structlog
from sqlalchemy import select

from payments.catalog.models import Agency
from payments.outbox.services import emit
from payments.uow import UnitOfWork
from receipts.budget.models import OverdueReminder
from receipts.budget.services import ledger, overdue, remitted

TOPIC = "budget.overdue"
JOB_ID = "budget_overdue_reminders"
# from 07:10 in Hà Nội, hourly until evening: the day's run is the first that finishes (the
# scheduler records it); one that failed is tried again the next hour
TRIGGER_ARGS = {"hour": "7-21", "minute": 10, "timezone": "Asia/Ho_Chi_Minh"}
PERIOD_SECONDS = 24 * 3600

log = structlog.get_logger(__name__)


def remind_overdue(on: date, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """The reminders made for ``on`` (none again when run twice the same day): one per agency,
    fee and period overdue that day, with its outstanding amount and deadline."""
    made: list[dict[str, Any]] = []
    with uow:
        session = uow.session
        done = {
            (agency, fee, period)
            for agency, fee, period in session.execute(
                select(
                    OverdueReminder.agency_code, OverdueReminder.fee_code, OverdueReminder.period
                ).where(OverdueReminder.day == on)
            )
        }
        for code in session.scalars(select(Agency.code).order_by(Agency.code)):
            for item in overdue(ledger(session, code), remitted(session, code, on), on):
                if (code, item["fee_code"], item["period"]) in done:
                    continue
                reminder = {"agency_code": code, "day": on.isoformat()} | item
                reminder["due_on"] = item["due_on"].isoformat()
                session.add(OverdueReminder(agency_code=code, day=on, **item))
                emit(session, TOPIC, code, reminder)
                made.append(reminder)
        uow.commit()
    log.info("budget_overdue_reminded", day=on.isoformat(), reminders=len(made))
    return made
