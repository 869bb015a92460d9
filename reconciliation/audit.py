"""The append-only audit log of reconciliation: who did what, chained by SHA-256.

Each entry stores ``sha256(prev_hash + canonical JSON of the entry)``; changing, removing or
reordering any entry breaks every hash after it, which :func:`verify_chain` reports.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from payments.clock import utcnow
from reconciliation.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x7EC0A0D1  # serialises appends across processes on PostgreSQL


def canonical(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str, at: datetime, actor: str, action: str, entity: str, data: Any
) -> str:
    body = {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "data": data,
    }
    return hashlib.sha256((prev_hash + canonical(body)).encode()).hexdigest()


def append(session: Session, actor: str, action: str, entity: str, data: dict[str, Any]) -> None:
    """Add an entry in the caller's transaction, after the current last one."""
    if session.get_bind().dialect.name == "postgresql":
        # two writers must not both chain onto the same predecessor
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    at = utcnow()
    data = json.loads(canonical(data))  # what is stored is exactly what was hashed
    digest = entry_hash(prev or GENESIS, at, actor, action, entity, data)
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            data=data,
            prev_hash=prev or GENESIS,
            hash=digest,
        )
    )
    session.flush()


def verify_chain(session: Session) -> list[int]:
    """The ids of entries whose hash or link does not hold (empty: the log is intact)."""
    broken: list[int] = []
    prev = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        expected = entry_hash(prev, entry.at, entry.actor, entry.action, entry.entity, entry.data)
        if entry.prev_hash != prev or entry.hash != expected:
            broken.append(entry.id)
        prev = entry.hash
    return broken
