"""Verified tokens are cached per process, and keep their expiry and their keys."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from payments.auth.services import CreateClient, create_client, issue_token, verify_token
from payments.config import Settings
from payments.errors import Unauthorized
from payments.http import Container


def test_a_verified_token_stops_working_when_it_expires(
    container: Container, catalog: dict[str, Any], settings: Settings
) -> None:
    short = replace(settings, jwt_ttl=timedelta(seconds=1))
    creds = create_client(CreateClient("short", ["payments:read"]), uow=container.uow())
    token = issue_token(
        creds.client_id, creds.client_secret, uow=container.uow(), settings=short
    ).access_token
    assert verify_token(token, short).client_id == creds.client_id  # cached from here on
    time.sleep(2.1)
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(token, short)


def test_a_token_verified_under_one_key_is_not_accepted_under_another(
    container: Container, catalog: dict[str, Any], settings: Settings
) -> None:
    creds = create_client(CreateClient("keys", ["payments:read"]), uow=container.uow())
    token = issue_token(
        creds.client_id, creds.client_secret, uow=container.uow(), settings=settings
    ).access_token
    assert verify_token(token, settings).client_id == creds.client_id
    other = replace(settings, secret_key="another-secret-key-0123456789abcdef-0123")
    with pytest.raises(Unauthorized, match="signature"):
        verify_token(token, other)
