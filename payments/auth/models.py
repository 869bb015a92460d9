"""API clients (machines) and console users (people)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base


class Scope(StrEnum):
    PAYMENTS_READ = "payments:read"
    PAYMENTS_WRITE = "payments:write"
    RECEIPTS_READ = "receipts:read"
    RECEIPTS_WRITE = "receipts:write"
    RECONCILIATION_READ = "reconciliation:read"
    RECONCILIATION_WRITE = "reconciliation:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    # remitting to the state budget (DESIGN §4.2): record remittances; obligations read with
    # receipts:read
    BUDGET_READ = "budget:read"
    BUDGET_WRITE = "budget:write"


class Role(StrEnum):
    OFFICER = "officer"
    ADMIN = "admin"


class ApiClient(Base):
    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # None: every agency; otherwise the agency codes whose procedures this client may touch
    agencies: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(Base):
    """Console sign-in attempts, kept to slow down password guessing across every web host."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool]


class ConsoleSession(Base):
    """A signed-in console session, kept server-side so that logging out, a password change or
    the idle and absolute limits end it even for a copy of the cookie (which holds only ``id``)."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class AuthThrottle(Base):
    """Failed-credential counters (console sign-in, token endpoint) shared by every web worker:
    one row per key (``user:…``, ``client:…``, ``ip:…``), counted in a fixed window by a single
    upsert, so parallel tries cannot all read "no failures yet"."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int]
