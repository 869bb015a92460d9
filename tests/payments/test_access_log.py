"""The access log's JSON line: the same object gunicorn's own formatting gave, and valid JSON
whatever the client put in the request line."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from payments.ops.access_log import ACCESS_LOG_FORMAT, JsonAccessLogger


def write(
    kind: type[glogging.Logger], path: Path, uri: str, fmt: str = ACCESS_LOG_FORMAT
) -> list[str]:
    """The lines a logger of ``kind`` writes to ``path`` for one request to ``uri``."""
    cfg = Config()
    cfg.set("accesslog", str(path))
    cfg.set("access_log_format", fmt)
    log = kind(cfg)
    try:
        log.access(*exchange(uri))
    finally:
        for handler in log.access_log.handlers:  # gunicorn's loggers are process-wide
            handler.close()
        log.access_log.handlers.clear()
    return path.read_text("utf-8").splitlines()


def exchange(uri: str) -> tuple[Any, Any, dict[str, Any], timedelta]:
    """What gunicorn's worker hands ``access``: response, request, environ, duration."""
    resp = SimpleNamespace(
        status="201 CREATED",
        sent=57,
        headers=[("Content-Type", "application/json"), ("X-Request-Id", "req-7f3a")],
    )
    req = SimpleNamespace(headers=[("HOST", "thuphi.local"), ("CONTENT-LENGTH", "300")])
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": uri,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "PATH_INFO": uri.split("?")[0],
        "QUERY_STRING": "",
    }
    return resp, req, environ, timedelta(seconds=1, microseconds=234_567)


def test_production_settings_use_the_json_logger(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # importing the config sets PROMETHEUS_MULTIPROC_DIR when unset; this process's later
    # /metrics would then read counters from an empty folder: give it one that goes with the test
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_conf = importlib.import_module("payments.gunicorn_conf")
    assert gunicorn_conf.logger_class is JsonAccessLogger
    assert gunicorn_conf.access_log_format == ACCESS_LOG_FORMAT


def test_the_line_is_the_object_gunicorn_s_own_formatting_gave(tmp_path: Path) -> None:
    [mine] = write(JsonAccessLogger, tmp_path / "ours.log", "/api/v1/payment-requests")
    [gunicorns] = write(glogging.Logger, tmp_path / "theirs.log", "/api/v1/payment-requests")
    assert (
        json.loads(mine)
        == json.loads(gunicorns)
        == {
            "remote": "10.0.0.7",
            "request": "POST /api/v1/payment-requests HTTP/1.1",
            "status": 201,
            "bytes": 57,
            "ms": 1234,
            "request_id": "req-7f3a",
        }
    )


def test_a_quote_in_the_request_line_stays_valid_json(tmp_path: Path) -> None:
    uri = '/pay/x"}, "status": 200, "forged": "\\'
    [line] = write(JsonAccessLogger, tmp_path / "access.log", uri)
    assert json.loads(line)["request"] == f"POST {uri} HTTP/1.1"
    assert "forged" not in json.loads(line)


def test_another_format_is_gunicorn_s_to_write(tmp_path: Path) -> None:
    written = write(JsonAccessLogger, tmp_path / "access.log", "/healthz", '%(h)s "%(r)s" %(s)s')
    assert written == ['10.0.0.7 "POST /healthz HTTP/1.1" 201']
