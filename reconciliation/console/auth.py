"""Console sessions: a signed cookie holding a server-side session id (ended by logout, a
password change, 30 idle minutes or 12 hours), a CSRF token on every form, officers scoped to
their agency."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from payments.auth.models import Role, Scope
from payments.auth.services import (
    Principal,
    UserView,
    end_session,
    session_user,
    start_session,
)
from payments.http import settings, uow

F = TypeVar("F", bound=Callable[..., Any])


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def check_csrf() -> None:
    """Every state-changing console request carries the session's token (form or header)."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, description="CSRF token missing or invalid; reload the page and try again")


def sign_in(user: UserView) -> None:
    """A fresh session (id and CSRF token) for a user who just proved their password."""
    session.clear()
    session["sid"] = start_session(
        user.username, uow=uow(), lifetime=settings().console_session_lifetime
    )
    session.permanent = True
    csrf_token()


def sign_out() -> None:
    sid = session.get("sid")
    if sid:
        end_session(str(sid), uow=uow())
    session.clear()


def current_user() -> UserView | None:
    cached: UserView | None = g.get("user")
    if cached is not None:
        return cached
    sid = session.get("sid")
    if not sid:
        return None
    config = settings()
    user = session_user(
        str(sid),
        uow=uow(),
        idle=config.console_idle_timeout,
        lifetime=config.console_session_lifetime,
    )
    if user is None:
        session.clear()
        return None
    g.user = user
    return user


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("console.login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("console.login", next=request.full_path))
        if user.role != Role.ADMIN:
            abort(404)  # an officer does not learn that the page exists
        return view(*args, **kwargs)

    return cast(F, wrapper)


def agency_scope() -> list[str] | None:
    """The agencies the signed-in user may see: None for an admin (all)."""
    user = current_user()
    if user is None:
        return []
    if user.role == Role.ADMIN:
        return None
    return [user.agency_code] if user.agency_code else []


def console_principal() -> Principal:
    """The signed-in user as the services' caller: every scope, limited to their agencies."""
    user = current_user()
    if user is None:
        abort(401)
    scope = agency_scope()
    agencies = None if scope is None else frozenset(scope)
    return Principal(actor(), frozenset(s.value for s in Scope), agencies)


def actor() -> str:
    """How the audit log and the receipts name the signed-in user."""
    user = current_user()
    return f"user:{user.username}" if user else "user:?"


def safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.dashboard")


__all__ = ["Response"]
