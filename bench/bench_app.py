"""The real app plus one bare endpoint, the baseline ``bench_payment_requests.py`` compares with.

    gunicorn --pythonpath bench 'bench_app:create_bench_app()'

``POST /bench/bare`` goes through the same stack as ``POST /api/v1/payment-requests`` (gunicorn,
Flask, request id, Bearer token, JSON parsing, UnitOfWork, PostgreSQL commit) but does no domain
work: it inserts the body as one row into ``bench_bare``, which the bench script creates in its
schema. Settings come from ``THUPHI_*`` variables like the real app's.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify
from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, func, insert
from sqlalchemy.dialects.postgresql import JSONB

from payments.app import create_app
from payments.auth.models import Scope
from payments.errors import ValidationFailed
from payments.http import authenticate, json_body, uow

BARE_TABLE = Table(
    "bench_bare",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)

BARE_DDL = (
    "CREATE TABLE bench_bare ("
    "id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz DEFAULT now())"
)


def create_bench_app() -> Flask:
    """``create_app()`` from the environment, plus ``POST /bench/bare``."""
    app = create_app()

    @app.post("/bench/bare")
    def bare() -> tuple[Response, int]:
        authenticate(Scope.PAYMENTS_WRITE)
        body = json_body()
        if not isinstance(body, dict):
            raise ValidationFailed({"_schema": ["a JSON object body is required"]})
        with uow() as work:
            stmt = insert(BARE_TABLE).values(body=body).returning(BARE_TABLE.c.id)
            row_id = work.session.execute(stmt).scalar_one()
            work.commit()
        return jsonify({"id": row_id}), 201

    return app
