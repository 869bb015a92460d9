"""The app factory: the one place that wires every blueprint, subscriber and extension."""

from __future__ import annotations

import re
import uuid

import structlog
from flask import Flask, Request, Response, g, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import Engine, text
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from payments.clock import utcnow
from payments.config import Settings
from payments.container import Container
from payments.db import make_engine, make_session_factory
from payments.errors import PROBLEM_BASE, DomainError
from payments.http import problem
from payments.migrate import migration_state
from payments.observability import configure_logging
from payments.ops.metrics import install
from payments.outbox.services import Registry
from payments.scheduler import last_heartbeat
from payments.wiring import register_blueprints, wire

log = structlog.get_logger(__name__)
HEARTBEAT_STALE_SECONDS = 90


def build_container(settings: Settings, engine: Engine | None = None) -> Container:
    """Engine, sessions and the registries the wiring fills, shared by the web app, the CLI and
    the scheduler."""
    engine = engine or make_engine(settings.database_url)
    registry = Registry(max_attempts=settings.outbox_max_attempts)
    container = Container(settings, engine, make_session_factory(engine), registry)
    wire(container)
    return container


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> Flask:
    """The WSGI app. ``container`` lets tests and benchmarks share one engine with the app."""
    settings = container.settings if container else (settings or Settings.from_env())
    configure_logging(json_logs=settings.log_json)
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(
        SECRET_KEY=settings.signing_keys[0],
        # during a rotation, sessions signed with the previous key stay valid
        SECRET_KEY_FALLBACKS=settings.signing_keys[1:],
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        # the console's absolute lifetime; the server ends a session earlier (logout, idle)
        PERMANENT_SESSION_LIFETIME=settings.console_session_lifetime,
        JSON_SORT_KEYS=False,
    )
    if settings.proxy_hops:
        # the client's address and scheme as the trusted proxies saw them (login throttling,
        # PayGov's Ip field, absolute URLs)
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_hops,
            x_proto=settings.proxy_hops,
            x_host=settings.proxy_hops,
        )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = _PeopleOnlySessions()
    app.extensions["thuphi"] = container or build_container(settings)
    _register_request_id(app)
    from payments.guard import install as install_guard

    install_guard(app)
    _register_errors(app)
    _register_health(app)
    install(app, app.extensions["thuphi"])
    register_blueprints(app)
    return app


class _PeopleOnlySessions(SecureCookieSessionInterface):
    """The signed session cookie is for people (the console, the checkout page's language);
    the API and the providers' callbacks authenticate every call and never read it, so their
    requests skip its serializer and cookie parsing (a null session: a write would raise)."""

    MACHINE_PATHS = ("/api/", "/callbacks/")

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(self.MACHINE_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _register_request_id(app: Flask) -> None:
    @app.before_request
    def _bind() -> None:
        rid = request.headers.get("X-Request-Id", "")
        # a caller's id is kept only when it is a plain token (it reaches logs and headers)
        g.request_id = rid if _REQUEST_ID.fullmatch(rid) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> tuple[Response, int]:
        response, status = problem(exc.to_problem(), exc.status)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(retry_after)))
        return response, status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "-")
        response, status = problem(
            {
                "type": PROBLEM_BASE + code,
                "title": exc.name,
                "status": status,
                "detail": exc.description,
                "code": code,
            },
            status,
        )
        # werkzeug's own headers: Allow on a 405, Retry-After where given
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled_error", path=request.path)
        return problem(
            {
                "type": PROBLEM_BASE + "internal-error",
                "title": "Internal error",
                "status": 500,
                "detail": "An unexpected error occurred; quote the request id.",
                "code": "internal-error",
            },
            500,
        )


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        c: Container = app.extensions["thuphi"]
        try:
            with c.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            migrations = migration_state(c.engine)
            at_head = migrations in {"head", "ahead"}
            beat = last_heartbeat(c) if at_head else None
        except Exception as exc:  # readiness reports, never raises
            return jsonify({"status": "unavailable", "database": type(exc).__name__}), 503
        fresh = beat is not None and (utcnow() - beat).total_seconds() < HEARTBEAT_STALE_SECONDS
        ready = at_head and fresh
        return jsonify(
            {
                "status": "ok" if ready else "unavailable",
                "database": "ok",
                "migrations": migrations,
                "scheduler": "ok" if fresh else "stale",
                "scheduler_heartbeat": beat.isoformat() if beat else None,
            }
        ), 200 if ready else 503
