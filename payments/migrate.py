"""Alembic, driven from code: ``thuphi db upgrade`` and the readiness check use this."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["engine"] = engine
    return cfg


def objects_for(dialect: str) -> Callable[..., bool]:
    """Autogenerate's ``include_object``: an object the models declare for other databases only
    (``Index(…).ddl_if(dialect="postgresql")``) is not expected in this one."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        wanted = getattr(condition, "dialect", None)
        if wanted is None or reflected:
            return True
        return dialect in ((wanted,) if isinstance(wanted, str) else tuple(wanted))

    return include


def upgrade(engine: Engine, revision: str = "heads") -> None:
    command.upgrade(alembic_config(engine), revision)


def head_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config_no_engine())
    return set(script.get_heads())


def alembic_config_no_engine() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def current_is_head(engine: Engine) -> bool:
    """True when the database has every migration this code knows (or newer ones).

    During a rolling deploy the new release migrates first; processes of the previous release
    then see revisions they do not know, and must stay ready: migrations are safe for them.
    """
    return migration_state(engine) in {"head", "ahead"}


def migration_state(engine: Engine) -> str:
    """``head``, ``ahead`` (revisions newer than this code), or ``behind``."""
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    script = ScriptDirectory.from_config(alembic_config_no_engine())
    known = {rev.revision for rev in script.walk_revisions()}
    if current == head_revisions():
        return "head"
    if current and not current <= known:
        return "ahead"
    return "behind"
