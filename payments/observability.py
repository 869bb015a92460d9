"""structlog configured once; a request id bound to every line of a request."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = {
    "password",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "authorization",
    "apikey",
    "api_key",
    "maxacthuc",
    "signature",
}


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
    return event


def _keep_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``request_id`` is the HTTP request's (bound per request): an event passing its own (a
    payment request's id, say) keeps it as ``payment_request_id`` instead of overwriting it."""
    if "request_id" in event:
        event.setdefault("payment_request_id", event.pop("request_id"))
    return event


class LineLogger:
    """Writes each record with one ``write(2)`` of the whole line under a lock: threads never
    interleave, and processes sharing the stream (gunicorn workers) write whole lines (atomic
    on a pipe up to PIPE_BUF, and on a file opened for appending)."""

    _lock = threading.Lock()

    def __init__(self, fd: int = 2) -> None:
        self._fd = fd

    def msg(self, message: str) -> None:
        data = memoryview((message + "\n").encode("utf-8", "replace"))
        with self._lock:
            while data:
                data = data[os.write(self._fd, data) :]

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def configure_logging(json_logs: bool = False, level: int = logging.INFO) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    factory: Any = (
        (lambda *_: LineLogger()) if json_logs else structlog.PrintLoggerFactory(sys.stderr)
    )
    structlog.configure(
        processors=[
            _keep_request_id,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
