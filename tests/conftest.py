"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is at 127.0.0.1:5432 (database ``test``) unless THUPHI_TEST_PG_URL says otherwise.
Outside CI a missing PostgreSQL skips those tests with the reason; with CI=true it fails them.
Each test run works in its own schema, so several runs can share one database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

# the create body's factory, where older tests import it from
from factories import payment_request_body as payment_request_body
from sqlalchemy import Engine, create_engine, text

from payments.app import build_container, create_app
from payments.config import Settings
from payments.db import make_engine
from payments.http import Container
from payments.migrate import upgrade
from payments.models_all import metadata
from providers.fakes.server import RunningServer, start_built

PG_URL = os.environ.get("THUPHI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
DEMO_CATALOG = Path(__file__).resolve().parents[1] / "payments" / "demo" / "catalog.json"
TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def require_postgres() -> None:
    reason = _pg_available()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_URL}: {reason}")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({reason}); set CI=true to require it")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections all work in a fresh schema of this test run."""
    require_postgres()
    schema = f"t_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'thuphi.sqlite3'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    name = "pg_schema_url" if backend == "postgresql" else "sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - names from metadata


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_env(
        {},
        database_url=database_url,
        secret_key=TEST_SECRET,
        public_url="http://127.0.0.1:5000",
        paygov_secret="paygov-test-secret",
        paygov_access_token="paygov-test-token",  # the fake platform's default
        pos_secret="pos-test-secret",
        bank_api_key="bank-test-key",
        webhook_secret="webhook-test-secret",
        # the tests' webhook receivers listen on 127.0.0.1 (a lab, as far as SSRF goes)
        webhook_allow_private=True,
    )


@pytest.fixture
def container(migrated_engine: Engine, settings: Settings) -> Container:
    """A service container over a clean, migrated database."""
    truncate_all(migrated_engine)
    return build_container(settings, migrated_engine)


@pytest.fixture
def uow(container: Container) -> Any:
    return container.uow()


@pytest.fixture
def catalog(container: Container) -> dict[str, Any]:
    """The demo catalog, imported."""
    from payments.catalog.services import import_catalog, parse_document

    import_catalog(parse_document(DEMO_CATALOG.read_bytes()), uow=container.uow())
    return dict(parse_document(DEMO_CATALOG.read_bytes()))


@dataclass
class LiveServer:
    url: str
    container: Container
    app: Any

    def session(self, token: str | None = None) -> requests.Session:
        s = requests.Session()
        if token:
            s.headers["Authorization"] = f"Bearer {token}"
        return s


@pytest.fixture
def serve(container: Container, settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    """Serve the real app over HTTP on 127.0.0.1 (an ephemeral port) in a thread, with settings
    overridden: ``serve(demo=True).url``. Every server started stops at the test's end."""
    running: list[RunningServer] = []

    def start(**overrides: Any) -> LiveServer:
        apps: list[Any] = []

        def build(url: str) -> Any:
            served = build_container(
                replace(settings, public_url=url, **overrides), container.engine
            )
            apps.append(create_app(container=served))
            return apps[0]

        running.append(start_built(build))
        return LiveServer(running[-1].url, apps[0].extensions["thuphi"], apps[0])

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def live_server(serve: Callable[..., LiveServer]) -> LiveServer:
    """The real app served over HTTP on 127.0.0.1 with the test's settings."""
    return serve()


@pytest.fixture
def make_client(container: Container) -> Callable[..., dict[str, Any]]:
    """Create an API client: ``make_client(scopes=[...], agencies=[...])`` → id and secret."""
    from payments.auth.services import CreateClient, create_client

    def make(
        scopes: list[str] | None = None,
        agencies: list[str] | None = None,
        name: str = "dossier-system",
    ) -> dict[str, Any]:
        creds = create_client(
            CreateClient(name, scopes or ["payments:write"], agencies), uow=container.uow()
        )
        return {"client_id": creds.client_id, "client_secret": creds.client_secret}

    return make


@pytest.fixture
def api(
    live_server: LiveServer, catalog: dict[str, Any], make_client: Callable[..., dict[str, Any]]
) -> Callable[..., requests.Session]:
    """An HTTP session with a fresh token: ``api(scopes=[...], agencies=[...])``."""

    def session(
        scopes: list[str] | None = None, agencies: list[str] | None = None
    ) -> requests.Session:
        creds = make_client(scopes or ["payments:write"], agencies)
        resp = requests.post(f"{live_server.url}/api/v1/token", json=creds, timeout=10)
        assert resp.status_code == 200, resp.text
        s = live_server.session(resp.json()["access_token"])
        s.base_url = live_server.url  # type: ignore[attr-defined]
        return s

    return session
