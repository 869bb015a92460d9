"""Time: aware UTC inside, Asia/Ho_Chi_Minh business days at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values (SQLite hands them back) are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def business_day(moment: datetime) -> date:
    """The Vietnamese calendar date of an instant: 23:30 UTC on D is D+1 in Hà Nội."""
    return as_utc(moment).astimezone(VN_TZ).date()


def today() -> date:
    return business_day(utcnow())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC half-open interval [start, end) covering one Vietnamese business day."""
    start = datetime.combine(day, time.min, tzinfo=VN_TZ).astimezone(UTC)
    return start, start + timedelta(days=1)
