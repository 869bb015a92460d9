"""What every benchmark shares: the PostgreSQL it runs against and a schema of its own there."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

from sqlalchemy import create_engine, text

PG_URL = os.environ.get("THUPHI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_schema(prefix: str, **params: str) -> Iterator[str]:
    """A URL whose connections work in a new schema ``<prefix>_<pid>_<hex>``, dropped on the way
    out; ``params`` are added to the URL's query (e.g. ``application_name``)."""
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    query = "&".join(
        [f"options=-csearch_path%3D{schema}", *(f"{k}={v}" for k, v in params.items())]
    )
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}{query}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
