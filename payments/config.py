"""Typed settings, built once from ``THUPHI_*`` environment variables and validated at start-up."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

MAX_AMOUNT_LIMIT = 10**13


class ConfigError(ValueError):
    pass


def _default_database_url() -> str:
    instance = Path(os.environ.get("THUPHI_INSTANCE_PATH", Path.cwd() / "instance"))
    return f"sqlite:///{instance / 'thuphi.sqlite3'}"


def _parse_duration(raw: str) -> timedelta:
    """``72h``, ``30m``, ``3d``, ``45s`` or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = raw.strip().lower()
    try:
        if text[-1] in units:
            return timedelta(seconds=float(text[:-1]) * units[text[-1]])
        return timedelta(seconds=float(text))
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"not a duration: {raw!r} (use e.g. 72h, 30m, 3d)") from exc


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Secrets are ``repr=False`` so they never reach a log line."""

    env: str = "development"
    database_url: str = field(default_factory=_default_database_url)
    secret_key: str = field(default="", repr=False)
    public_url: str = "http://127.0.0.1:5000"
    request_ttl: timedelta = timedelta(hours=72)
    jwt_issuer: str = "thuphi"
    jwt_audience: str = "thuphi-api"
    jwt_ttl: timedelta = timedelta(minutes=15)
    paygov_url: str = ""
    paygov_partner_code: str = ""
    paygov_secret: str = field(default="", repr=False)
    # national platform: three URLs (each defaults to a path under paygov_url), Bearer token,
    # and the result's LoaiBanTin to insist on (empty: any but the request types)
    paygov_init_url: str = ""
    paygov_query_url: str = ""
    paygov_bill_url: str = ""
    paygov_access_token: str = field(default="", repr=False)
    paygov_result_type: str = ""
    pos_secret: str = field(default="", repr=False)
    bank_api_key: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    tax_url: str = ""
    receipt_cert: str = ""
    receipt_key: str = field(default="", repr=False)
    # JSON file mapping agency codes to their own signing pair (DESIGN §4.5)
    receipt_signers: str = ""
    # PKCS#11 keys in THUPHI_RECEIPT_SIGNERS: the module when a URI has no module-path, and the
    # user PIN when it has no pin-source (receipts.tokens)
    receipt_pkcs11_module: str = ""
    receipt_pkcs11_pin: str = field(default="", repr=False)
    # local time (Asia/Ho_Chi_Minh) of the same-day 01/TH-BLĐT summary
    receipt_summary_at: str = "23:00"
    outbox_max_attempts: int = 12
    demo: bool = False
    log_json: bool = False
    max_upload_bytes: int = 64 * 1024 * 1024
    # the largest amount accepted anywhere money enters (DESIGN §4.5)
    max_amount: int = 10**12
    # lab only: let outgoing webhooks reach loopback/private addresses
    webhook_allow_private: bool = False
    # console sessions: ended after this long unused, and this long after signing in at most
    console_idle_timeout: timedelta = timedelta(minutes=30)
    console_session_lifetime: timedelta = timedelta(hours=12)
    # reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
    proxy_hops: int = 0

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def signing_keys(self) -> list[str]:
        """JWT/session keys: during rotation the first signs and every one verifies."""
        return split_secret(self.secret_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("THUPHI_" + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        settings = cls(**values)
        if overrides:
            settings = replace(settings, **overrides)
        return settings.validated()

    def validated(self) -> Settings:
        if not self.secret_key:
            if self.is_production:
                raise ConfigError("THUPHI_SECRET_KEY is required in production")
            # a random development key: sessions and tokens last as long as the process
            return replace(self, secret_key=secrets.token_urlsafe(32)).validated()
        if self.is_production and len(self.signing_keys[0]) < 32:
            raise ConfigError("THUPHI_SECRET_KEY must be at least 32 characters in production")
        if self.request_ttl <= timedelta(0):
            raise ConfigError("THUPHI_REQUEST_TTL must be positive")
        if min(self.console_idle_timeout, self.console_session_lifetime) <= timedelta(0):
            raise ConfigError("THUPHI_CONSOLE_IDLE_TIMEOUT and _SESSION_LIFETIME must be positive")
        if not 1 <= self.max_amount <= MAX_AMOUNT_LIMIT:
            # above it, a day of payments at the ceiling could approach BIGINT in a rollup
            raise ConfigError(f"THUPHI_MAX_AMOUNT must be between 1 and {MAX_AMOUNT_LIMIT}")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.receipt_summary_at):
            raise ConfigError("THUPHI_RECEIPT_SUMMARY_AT must be a local time HH:MM, e.g. 23:00")
        if not self.database_url.startswith(("sqlite", "postgresql")):
            raise ConfigError(
                "THUPHI_DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL"
            )
        _check_paygov(self)
        return self


# LoaiBanTin values of the requests we send: a result can never carry one of them
PAYGOV_REQUEST_TYPES = ("INIT", "QUERY", "GET_BILL")


def _check_paygov(s: Settings) -> None:
    """The national platform's five settings beside its base URL, partner code and secret."""
    urls = {
        "THUPHI_PAYGOV_URL": s.paygov_url,
        "THUPHI_PAYGOV_INIT_URL": s.paygov_init_url,
        "THUPHI_PAYGOV_QUERY_URL": s.paygov_query_url,
        "THUPHI_PAYGOV_BILL_URL": s.paygov_bill_url,
    }
    for name, url in urls.items():
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(f"{name} must be an http(s) URL, not {url!r}")
    given = [name for name, url in urls.items() if url]
    if not given:
        return
    if not s.paygov_url:
        lacking = [name for name, url in list(urls.items())[1:] if not url]
        if lacking:
            raise ConfigError(
                f"{', '.join(lacking)} must be set when THUPHI_PAYGOV_URL (their default base)"
                " is not"
            )
    if not (s.paygov_partner_code and s.paygov_secret):
        raise ConfigError(
            f"{given[0]} is set: THUPHI_PAYGOV_PARTNER_CODE and THUPHI_PAYGOV_SECRET are needed"
        )
    kind = s.paygov_result_type
    if kind and (kind.upper() in PAYGOV_REQUEST_TYPES or not kind.replace("_", "").isalnum()):
        raise ConfigError(
            "THUPHI_PAYGOV_RESULT_TYPE must be a word other than INIT, QUERY or GET_BILL"
            f" (the result's LoaiBanTin), not {kind!r}"
        )
    # no access token is allowed: [TD] sends the Bearer header only when one is configured


def split_secret(value: str) -> list[str]:
    """A secret may hold two comma-separated values while it is rotated."""
    return [part.strip() for part in value.split(",") if part.strip()]


def _coerce(name: str, annotation: Any, raw: str) -> Any:
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"THUPHI_{name.upper()} must be an integer") from exc
    if kind == "timedelta":
        return _parse_duration(raw)
    return raw
