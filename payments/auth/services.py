"""Client credentials, short-lived JWTs (python-jose), console users."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import cast

from jose import JWTError, jwt
from sqlalchemy import Table, case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from payments.auth.models import (
    ApiClient,
    AuthThrottle,
    ConsoleSession,
    LoginAttempt,
    Role,
    Scope,
    User,
)
from payments.catalog.models import Agency
from payments.clock import as_utc, utcnow
from payments.config import Settings
from payments.db import UTCDateTime
from payments.errors import Forbidden, NotFound, TooManyAttempts, Unauthorized, ValidationFailed
from payments.uow import UnitOfWork

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
ALGORITHM = "HS256"


def hash_secret(secret: str) -> str:
    """scrypt with a random salt; the format carries its parameters for later upgrades."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def expand_scopes(scopes: list[str]) -> set[str]:
    """A write scope implies its read scope."""
    granted = set(scopes)
    granted |= {s.replace(":write", ":read") for s in scopes if s.endswith(":write")}
    return granted


@dataclass(frozen=True)
class Principal:
    """Who is calling: a machine client with scopes and, possibly, a set of agencies."""

    client_id: str
    scopes: frozenset[str]
    agencies: frozenset[str] | None  # None: every agency

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this call needs the scope {scope}")

    def require_agency(self, agency_code: str) -> None:
        if self.agencies is not None and agency_code not in self.agencies:
            raise Forbidden(f"client may not act for agency {agency_code}")

    def may_see(self, agency_code: str) -> bool:
        return self.agencies is None or agency_code in self.agencies


@dataclass(frozen=True)
class CreateClient:
    name: str
    scopes: list[str]
    agencies: list[str] | None = None


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    agencies: list[str] | None


def create_client(cmd: CreateClient, *, uow: UnitOfWork) -> ClientCredentials:
    """Register a machine client; the secret is returned once and stored only hashed."""
    unknown = [s for s in cmd.scopes if s not in {x.value for x in Scope}]
    if unknown or not cmd.scopes:
        raise ValidationFailed({"scope": [f"unknown scope(s): {', '.join(unknown) or 'none'}"]})
    client_id = "cl_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with uow:
        _require_agencies(uow, cmd.agencies or [])
        uow.session.add(
            ApiClient(
                client_id=client_id,
                name=cmd.name,
                secret_hash=hash_secret(secret),
                scopes=sorted(set(cmd.scopes)),
                agencies=sorted(set(cmd.agencies)) if cmd.agencies else None,
            )
        )
        uow.commit()
    return ClientCredentials(client_id, secret, cmd.name, sorted(set(cmd.scopes)), cmd.agencies)


def _require_agencies(uow: UnitOfWork, codes: list[str]) -> None:
    if not codes:
        return
    known = set(uow.session.scalars(select(Agency.code).where(Agency.code.in_(codes))))
    missing = sorted(set(codes) - known)
    if missing:
        raise ValidationFailed({"agency": [f"unknown agency: {', '.join(missing)}"]})


@dataclass(frozen=True)
class TokenView:
    access_token: str
    token_type: str
    expires_in: int


TOKEN_FAILURES_PER_CLIENT = 10
TOKEN_FAILURES_PER_IP = 30
TOKEN_WINDOW = timedelta(minutes=5)


def issue_token(
    client_id: str, client_secret: str, *, uow: UnitOfWork, settings: Settings, ip: str = ""
) -> TokenView:
    """Exchange client credentials for a short-lived signed JWT. Failed secrets are throttled
    per client and per address (429 with Retry-After); an unknown client costs the same work
    as a known one, so timing does not tell which ids exist."""
    limits = [(f"token-ip:{ip[:64]}", TOKEN_FAILURES_PER_IP)] if ip else []
    limits.append((f"client:{client_id[:64]}", TOKEN_FAILURES_PER_CLIENT))
    take_try(uow, limits, TOKEN_WINDOW)
    with uow:
        client = uow.session.get(ApiClient, client_id)
        ok = verify_secret(client_secret, client.secret_hash if client else _dummy_hash())
        if not ok or client is None or not client.active:
            raise Unauthorized("invalid client credentials")
        give_back(uow.session, limits)
        uow.commit()
        now = utcnow()
        claims = {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": client.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + settings.jwt_ttl).timestamp()),
            "scope": " ".join(client.scopes),
            "agencies": client.agencies,
        }
    token = jwt.encode(claims, settings.signing_keys[0], algorithm=ALGORITHM)
    return TokenView(token, "Bearer", int(settings.jwt_ttl.total_seconds()))


# Tokens verified by this process, until their expiry: a client sends the same token with every
# call for its whole life, and checking its signature again proves nothing new. Keyed by
# everything the verification depended on, so other settings (keys, audience) verify afresh.
_VERIFIED: dict[tuple[str, tuple[str, ...], str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 4096


def verify_token(token: str, settings: Settings) -> Principal:
    """Check signature, issuer, audience and expiry; any of the rotating keys may have signed."""
    cache_key = (token, tuple(settings.signing_keys), settings.jwt_audience, settings.jwt_issuer)
    cached = _VERIFIED.get(cache_key)
    # jose's rule: expired once now is past ``exp``; then the full check below says so
    if cached is not None and time.time() <= cached[1]:
        return cached[0]
    principal, expires = _verify(token, settings)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # crude, and rare: as many live tokens as clients times 15 minutes
    _VERIFIED[cache_key] = (principal, expires)
    return principal


def _verify(token: str, settings: Settings) -> tuple[Principal, float]:
    for key in settings.signing_keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require_exp": True, "require_sub": True},
            )
        except JWTError as exc:
            if "Signature verification failed" in str(exc):
                continue
            raise Unauthorized(f"invalid token: {exc}") from exc
        agencies = claims.get("agencies")
        principal = Principal(
            client_id=str(claims["sub"]),
            scopes=frozenset(expand_scopes(str(claims.get("scope", "")).split())),
            agencies=frozenset(agencies) if agencies is not None else None,
        )
        return principal, float(claims["exp"])
    raise Unauthorized("invalid token: signature verification failed")


@dataclass(frozen=True)
class CreateUser:
    username: str
    role: str
    password: str
    agency_code: str | None = None


@dataclass(frozen=True)
class UserView:
    username: str
    role: str
    agency_code: str | None


def create_user(cmd: CreateUser, *, uow: UnitOfWork) -> UserView:
    """Create (or reset) a console user: an officer of one agency or an admin."""
    if cmd.role not in {r.value for r in Role}:
        raise ValidationFailed({"role": ["must be officer or admin"]})
    if cmd.role == Role.OFFICER and not cmd.agency_code:
        raise ValidationFailed({"agency": ["an officer belongs to one agency"]})
    if len(cmd.password) < 8:
        raise ValidationFailed({"password": ["at least 8 characters"]})
    with uow:
        _require_agencies(uow, [cmd.agency_code] if cmd.agency_code else [])
        user = uow.session.get(User, cmd.username) or User(username=cmd.username)
        user.password_hash = hash_secret(cmd.password)
        user.role = cmd.role
        user.agency_code = cmd.agency_code if cmd.role == Role.OFFICER else None
        user.active = True
        uow.session.add(user)
        # a new password ends every console session signed in with the old one
        uow.session.execute(delete(ConsoleSession).where(ConsoleSession.username == user.username))
        uow.commit()
        return UserView(user.username, user.role, user.agency_code)


MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
LOCKOUT_WINDOW = timedelta(minutes=15)


def authenticate_user(
    username: str, password: str, *, uow: UnitOfWork, ip: str = "", now: datetime | None = None
) -> UserView:
    """Check a console password; too many recent failures (per user or address) lock it out.
    An unknown user costs the same work as a known one."""
    moment = now or utcnow()
    limits = [(f"ip:{ip[:64]}", MAX_FAILURES_PER_IP)] if ip else []
    limits.append((f"user:{username[:64]}", MAX_FAILURES_PER_USER))
    take_try(uow, limits, LOCKOUT_WINDOW, moment)
    with uow:
        user = uow.session.get(User, username)
        ok = verify_secret(password, user.password_hash if user else _dummy_hash())
        ok = ok and user is not None and user.active
        uow.session.add(LoginAttempt(username=username[:64], ip=ip[:64], at=moment, success=ok))
        if ok:
            give_back(uow.session, limits)
        uow.commit()
        if not ok or user is None:
            raise Unauthorized("wrong username or password")
        return UserView(user.username, user.role, user.agency_code)


THROTTLE_KEEP = timedelta(days=1)


@cache
def _dummy_hash() -> str:
    """What an unknown user's or client's secret is checked against: the same scrypt work."""
    return hash_secret(secrets.token_urlsafe(16))


def take_try(
    uow: UnitOfWork,
    limits: list[tuple[str, int]],
    window: timedelta,
    now: datetime | None = None,
) -> None:
    """Count this credential check against each key *before* it runs, in one upsert per key
    committed at once, and refuse it (429, Retry-After) when a key passed its limit within the
    window. The database serialises the upserts, so 40 parallel tries get 40 distinct counts
    and only ``limit`` of them reach the check; a success gives its count back. Keys are
    counted in order up to the first one past its limit (the address first: a throttled
    address adds no rows for the names it makes up)."""
    moment = now or utcnow()
    wait = 0
    with uow:
        for key, limit in limits:
            failures, started = _bump(uow.session, key, moment, window)
            if failures > limit:
                wait = int((started + window - moment).total_seconds()) + 1
                break
        uow.commit()
    if wait:
        raise TooManyAttempts("too many failed attempts; try again later", retry_after=wait)


def _bump(session: Session, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    table = cast(Table, AuthThrottle.__table__)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    at = literal(now, UTCDateTime())
    stale = table.c.window_start < literal(now - window, UTCDateTime())
    statement = (
        insert(table)
        .values(key=key, window_start=now, failures=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "window_start": case((stale, at), else_=table.c.window_start),
            },
        )
        .returning(table.c.failures, table.c.window_start)
    )
    failures, started = session.execute(statement).one()
    return int(failures), as_utc(started)


def give_back(session: Session, limits: list[tuple[str, int]]) -> None:
    """A check that succeeded was no failure: return the count ``take_try`` took for it (and
    forget counters idle for a day, so guessed names do not pile up)."""
    session.execute(
        delete(AuthThrottle).where(AuthThrottle.window_start < utcnow() - THROTTLE_KEEP)
    )
    session.execute(
        update(AuthThrottle)
        .where(AuthThrottle.key.in_([key for key, _ in limits]), AuthThrottle.failures > 0)
        .values(failures=AuthThrottle.failures - 1)
    )


def get_user(username: str, *, uow: UnitOfWork) -> UserView:
    with uow:
        user = uow.session.get(User, username)
        if user is None or not user.active:
            raise NotFound("no such user")
        return UserView(user.username, user.role, user.agency_code)


# a session's last use is written at most this often (not on every page)
SESSION_TOUCH = timedelta(minutes=1)


def start_session(username: str, *, uow: UnitOfWork, lifetime: timedelta) -> str:
    """A new console session for a signed-in user; its id is all the cookie carries."""
    now = utcnow()
    session_id = secrets.token_urlsafe(32)
    with uow:
        # sessions nobody ended (a closed browser) go once past their lifetime
        uow.session.execute(
            delete(ConsoleSession).where(ConsoleSession.created_at < now - lifetime)
        )
        uow.session.add(
            ConsoleSession(id=session_id, username=username, created_at=now, last_seen_at=now)
        )
        uow.commit()
    return session_id


def session_user(
    session_id: str, *, uow: UnitOfWork, idle: timedelta, lifetime: timedelta
) -> UserView | None:
    """The user of a live console session: None once it was ended, left idle longer than
    ``idle``, or began more than ``lifetime`` ago (the row then goes)."""
    now = utcnow()
    with uow:
        row = uow.session.get(ConsoleSession, session_id)
        if row is None:
            return None
        user = uow.session.get(User, row.username)
        expired = now - row.last_seen_at > idle or now - row.created_at > lifetime
        if expired or user is None or not user.active:
            uow.session.delete(row)
            uow.commit()
            return None
        if now - row.last_seen_at > SESSION_TOUCH:
            row.last_seen_at = now
            uow.commit()
        return UserView(user.username, user.role, user.agency_code)


def end_session(session_id: str, *, uow: UnitOfWork) -> None:
    """Log out: the session's id opens nothing any more, whoever holds a copy of the cookie."""
    with uow:
        uow.session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))
        uow.commit()
