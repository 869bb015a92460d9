"""JSON logs: one whole object per line however many threads log at once; the HTTP request id is
never overwritten by an event's own id."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import structlog

from payments.observability import configure_logging

THREADS = 32
RECORDS = 100


@pytest.fixture
def json_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    # configured once capture runs, so that whatever stream the loggers hold is captured
    configure_logging(json_logs=True)
    yield
    structlog.contextvars.clear_contextvars()
    configure_logging(json_logs=False)


def _records(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_many_threads_logging_at_once_write_one_json_object_per_line(
    json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    log = structlog.get_logger("concurrency")
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        start.wait()
        for i in range(RECORDS):
            log.info("burst", thread=n, i=i, filler="x" * (500 + 37 * n))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    lines = [line for line in capfd.readouterr().err.splitlines() if "burst" in line]
    assert len(lines) == THREADS * RECORDS
    records = [json.loads(line) for line in lines]  # a glued or torn line would not parse
    assert {(r["thread"], r["i"]) for r in records} == {
        (n, i) for n in range(THREADS) for i in range(RECORDS)
    }


def test_an_event_passing_its_own_request_id_keeps_the_http_one(
    json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    structlog.contextvars.bind_contextvars(request_id="http-7")
    structlog.get_logger("callbacks").info("provider_event", request_id="pr-42")

    [record] = [r for r in _records(capfd.readouterr().err) if r["event"] == "provider_event"]
    assert (record["request_id"], record["payment_request_id"]) == ("http-7", "pr-42")
