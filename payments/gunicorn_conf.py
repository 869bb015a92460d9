"""gunicorn settings: ``gunicorn -c python:payments.gunicorn_conf 'payments.app:create_app()'``.

Every value can be overridden with gunicorn's own flags or GUNICORN_CMD_ARGS.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from typing import Any

from payments.ops.access_log import ACCESS_LOG_FORMAT, JsonAccessLogger

bind = os.environ.get("THUPHI_BIND", "127.0.0.1:8000")
# A request is CPU-bound Python between short database round trips: one process per CPU (the
# GIL lets a process use one), and threads to overlap the round trips; on 2 CPUs gthread 2 x 4
# measured best of sync 2/3/4 and gthread 2x4/3x4 (bench/README.md).
workers = int(os.environ.get("THUPHI_WEB_WORKERS", max(multiprocessing.cpu_count(), 2)))
worker_class = "gthread"
threads = int(os.environ.get("THUPHI_WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 30
keepalive = 5
max_requests = 10_000  # recycle workers now and then; jitter keeps them from restarting together
max_requests_jitter = 1_000
accesslog = "-"
access_log_format = ACCESS_LOG_FORMAT  # one JSON line, written by JsonAccessLogger
logger_class = JsonAccessLogger

# request counters across workers: prometheus_client's multiprocess mode needs a shared folder
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="thuphi-prom-")


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
