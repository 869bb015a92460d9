"""Unit of work over a plain SQLAlchemy session: rolls back unless told to commit."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — one transaction per block.

    Service functions take a UnitOfWork so the same code runs from views, the CLI and scheduled
    jobs. The object is reusable: each ``with`` opens a fresh session.
    """

    def __init__(self, session_factory: sessionmaker[Any]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("UnitOfWork blocks do not nest")
        self._session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            session.rollback()
        finally:
            session.close()

    def fork(self) -> UnitOfWork:
        """Another unit of work on the same database, for another thread."""
        return UnitOfWork(self._session_factory)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()
