"""Health, readiness, metrics and once-per-period scheduling."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from payments.container import Job
from payments.scheduler import heartbeat, period_of, run_job


def test_healthz_answers_while_the_process_lives(live_server: Any) -> None:
    resp = live_server.session().get(f"{live_server.url}/healthz", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_readyz_wants_migrations_at_head_and_a_recent_scheduler_heartbeat(
    live_server: Any,
) -> None:
    url = f"{live_server.url}/readyz"
    before = live_server.session().get(url, timeout=10)
    assert before.status_code == 503
    assert before.json()["scheduler"] == "stale"
    assert before.json()["migrations"] == "head"
    heartbeat(live_server.container)
    after = live_server.session().get(url, timeout=10)
    assert after.status_code == 200
    assert after.json()["status"] == "ok"


def test_metrics_count_requests_and_report_business_gauges(api: Any) -> None:
    s = api()
    s.get(f"{s.base_url}/api/v1/payment-requests", params={"dossier_code": "x"}, timeout=10)
    text = s.get(f"{s.base_url}/metrics", timeout=10).text
    assert (
        'thuphi_http_requests_total{method="GET",route="/api/v1/payment-requests",status="200"}'
        in text
    )
    assert "thuphi_outbox_oldest_pending_seconds" in text
    assert "# TYPE thuphi_payment_requests gauge" in text


def test_a_periodic_job_runs_once_per_period(container: Any) -> None:
    calls: list[int] = []
    job = Job(
        "test_once", lambda c: calls.append(1), "interval", {"seconds": 60}, period_seconds=60
    )
    moment = datetime(2026, 11, 23, 3, 0, 10, tzinfo=UTC)
    run_job(container, job, moment)
    run_job(container, job, moment.replace(second=50))
    assert calls == [1]
    run_job(container, job, moment.replace(minute=1))
    assert calls == [1, 1]


def test_a_failed_run_leaves_its_period_open_so_the_next_tick_runs_it_again(
    container: Any,
) -> None:
    outcomes = [RuntimeError("statement not in yet"), None]
    calls: list[int] = []

    def flaky(_: Any) -> None:
        calls.append(1)
        failure = outcomes.pop(0)
        if failure:
            raise failure

    job = Job("test_flaky", flaky, "cron", {"minute": 30}, period_seconds=24 * 3600)
    moment = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)  # 01:30 on 23 Nov in Hà Nội
    with pytest.raises(RuntimeError):
        run_job(container, job, moment)
    run_job(container, job, moment.replace(hour=19))  # 02:30: the retry
    run_job(container, job, moment.replace(hour=20))  # 03:30: done for the day
    assert calls == [1, 1]


def test_daily_periods_turn_at_midnight_in_ha_noi_not_in_utc() -> None:
    job = Job("daily", lambda c: None, "cron", {}, period_seconds=24 * 3600)
    late_evening = datetime(2026, 11, 23, 16, 59, tzinfo=UTC)  # 23:59 on 23 Nov in Hà Nội
    just_after_midnight = datetime(2026, 11, 23, 17, 1, tzinfo=UTC)
    next_morning = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 on 24 Nov, a new UTC day
    assert period_of(job, late_evening) != period_of(job, just_after_midnight)
    assert period_of(job, just_after_midnight) == period_of(job, next_morning)


def test_two_schedulers_at_once_run_a_job_once(container: Any, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("two schedulers share one PostgreSQL; SQLite is single-process")
    calls: list[int] = []

    def slow(_: Any) -> None:
        calls.append(1)
        time.sleep(0.3)

    job = Job("test_race", slow, "interval", {"seconds": 3600}, period_seconds=3600)
    moment = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    threads = [threading.Thread(target=run_job, args=(container, job, moment)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]


def test_a_database_migrated_by_a_newer_release_keeps_this_release_ready(
    tmp_path: Any,
) -> None:
    from sqlalchemy import text

    from payments.db import make_engine
    from payments.migrate import migration_state, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'rolling.sqlite3'}")
    assert migration_state(engine) == "behind"
    upgrade(engine)
    assert migration_state(engine) == "head"
    with engine.begin() as conn:  # the next release's migration, unknown to this code
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('from_the_future')"))
    assert migration_state(engine) == "ahead"
    engine.dispose()


def test_a_scheduler_started_before_its_database_waits_for_it_instead_of_exiting(
    tmp_path: Any,
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "THUPHI_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
    }
    thuphi = str(Path(sys.executable).with_name("thuphi"))
    with subprocess.Popen(
        [thuphi, "scheduler"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        try:
            seen = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.stdout:
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line)
                if "scheduler.database_unreachable" in line:
                    break
            assert any("scheduler.database_unreachable" in line for line in seen), seen
            time.sleep(1)
            assert proc.poll() is None, "the scheduler keeps running, waiting for its database"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_only_people_s_pages_open_the_session_cookie(container: Any) -> None:
    """The API and the callbacks skip the signed cookie (a null session refuses writes); the
    console and the checkout page keep theirs."""
    from flask import session

    from payments.app import create_app

    app = create_app(container=container)
    for path in ("/api/v1/payment-requests", "/callbacks/bank/sepay"):
        with app.test_request_context(path, headers={"Cookie": "session=forged"}):
            assert app.session_interface.is_null_session(session), path
            with pytest.raises(RuntimeError):
                session["lang"] = "en"
    for path in ("/console/login", "/pay/abc", "/api"):
        with app.test_request_context(path):
            assert not app.session_interface.is_null_session(session), path
            session["lang"] = "en"
