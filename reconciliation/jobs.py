"""The nightly reconciliation job: the previous business day of every account."""

from __future__ import annotations

from typing import Any

from payments.container import Container
from reconciliation.runs import previous_business_day, reconcile_all

JOB_ID = "reconcile_previous_day"
# from 01:30 in Hà Nội (the banks' end-of-day statements are in, and D+1 bookings of late
# transfers), hourly: the day is done once one run finishes, and a run that
# failed or died is tried again at the next half hour
TRIGGER_ARGS = {"hour": "1-23", "minute": 30, "timezone": "Asia/Ho_Chi_Minh"}
PERIOD_SECONDS = 24 * 3600


def reconcile_previous_day(container: Container) -> list[dict[str, Any]]:
    """Idempotent: running it twice for the same day updates the same runs."""
    return reconcile_all(previous_business_day(), uow=container.uow(), actor="scheduler")
