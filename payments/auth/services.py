"""Client credentials, short-lived JWTs (python-jose), console users."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from jose import JWTError, jwt
from sqlalchemy import func, select

from payments.auth.models import ApiClient, LoginAttempt, Role, Scope, User
from payments.catalog.models import Agency
from payments.clock import utcnow
from payments.config import Settings
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


def issue_token(
    client_id: str, client_secret: str, *, uow: UnitOfWork, settings: Settings
) -> TokenView:
    """Exchange client credentials for a short-lived signed JWT."""
    with uow:
        client = uow.session.get(ApiClient, client_id)
        ok = (
            client is not None
            and client.active
            and verify_secret(client_secret, client.secret_hash)
        )
        if not ok or client is None:
            raise Unauthorized("invalid client credentials")
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
        uow.commit()
        return UserView(user.username, user.role, user.agency_code)


MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
LOCKOUT_WINDOW = timedelta(minutes=15)


def authenticate_user(
    username: str, password: str, *, uow: UnitOfWork, ip: str = "", now: datetime | None = None
) -> UserView:
    """Check a console password; too many recent failures (per user or address) lock it out."""
    moment = now or utcnow()
    with uow:
        _refuse_if_throttled(uow, username, ip, moment)
        user = uow.session.get(User, username)
        ok = user is not None and user.active and verify_secret(password, user.password_hash)
        uow.session.add(LoginAttempt(username=username[:64], ip=ip[:64], at=moment, success=ok))
        uow.commit()
        if not ok or user is None:
            raise Unauthorized("wrong username or password")
        return UserView(user.username, user.role, user.agency_code)


def _refuse_if_throttled(uow: UnitOfWork, username: str, ip: str, now: datetime) -> None:
    since = now - LOCKOUT_WINDOW
    failures = select(func.count()).where(LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    by_user = uow.session.scalar(failures.where(LoginAttempt.username == username)) or 0
    by_ip = uow.session.scalar(failures.where(LoginAttempt.ip == ip)) or 0 if ip else 0
    if by_user >= MAX_FAILURES_PER_USER or by_ip >= MAX_FAILURES_PER_IP:
        raise TooManyAttempts("too many failed sign-ins; try again in 15 minutes")


def get_user(username: str, *, uow: UnitOfWork) -> UserView:
    with uow:
        user = uow.session.get(User, username)
        if user is None or not user.active:
            raise NotFound("no such user")
        return UserView(user.username, user.role, user.agency_code)
