"""Alembic environment: the engine comes from ``payments.migrate`` (never from a URL in a file)."""

from __future__ import annotations

from alembic import context

from payments.migrate import objects_for
from payments.models_all import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
            compare_type=True,
            include_object=objects_for(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
