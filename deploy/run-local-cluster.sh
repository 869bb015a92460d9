#!/usr/bin/env bash
# Two gunicorn web processes and two `thuphi scheduler` processes against ONE PostgreSQL database,
# all on this machine: the smallest copy of a multi-host production layout.
#
#   deploy/run-local-cluster.sh            # creates database ops_cluster on 127.0.0.1 if needed
#   THUPHI_DATABASE_URL=postgresql+psycopg://user@host:5432/db deploy/run-local-cluster.sh
#
# Environment (all optional):
#   THUPHI_DATABASE_URL  default postgresql+psycopg://postgres@127.0.0.1:5432/ops_cluster (created)
#   WEB1_PORT WEB2_PORT  default 8101 8102
#   WEB_WORKERS          gunicorn workers per web process, default 2
#   DEMO_TRAFFIC         1 (default): create a few payment requests that expire after THUPHI_REQUEST_TTL
#   THUPHI_REQUEST_TTL   default 2m here, so the schedulers have expiries to do while you watch
#   FAILOVER_AFTER       seconds before the failover drill stops the scheduler that is winning the
#                        periodic jobs (it restarts 120 s later); default 180, 0 turns it off
#   STATUS_EVERY         seconds between status tables, default 30
#   VENV                 default .venv (the repository's virtualenv)
#
# Ctrl+C stops every process this script started (TERM, then KILL after 15 s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
THUPHI=$VENV/bin/thuphi
GUNICORN=$VENV/bin/gunicorn
WEB1_PORT=${WEB1_PORT:-8101}
WEB2_PORT=${WEB2_PORT:-8102}
FAILOVER_AFTER=${FAILOVER_AFTER:-180}
STATUS_EVERY=${STATUS_EVERY:-30}
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/thuphi-cluster.XXXXXX")

for tool in "$PY" "$THUPHI" "$GUNICORN"; do
  [[ -x $tool ]] || { echo "missing $tool: create the venv first (see README)" >&2; exit 1; }
done

export THUPHI_DATABASE_URL=${THUPHI_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/ops_cluster}
export THUPHI_SECRET_KEY=${THUPHI_SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')}
export THUPHI_PUBLIC_URL=${THUPHI_PUBLIC_URL:-http://127.0.0.1:$WEB1_PORT}
export THUPHI_REQUEST_TTL=${THUPHI_REQUEST_TTL:-2m}
export THUPHI_LOG_JSON=${THUPHI_LOG_JSON:-1}
export THUPHI_INSTANCE_PATH=${THUPHI_INSTANCE_PATH:-$RUN_DIR/instance}

declare -A PIDS=()   # name -> pid

log() { printf '\n== %s\n' "$*"; }

alive() {  # a running process (an exited child stays a zombie until waited for: not alive)
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

stop_all() {  # names…: TERM all at once, wait up to 15 s together, then KILL what is left
  local name pid
  for name in "$@"; do kill -TERM "${PIDS[$name]}" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    pid=
    for name in "$@"; do alive "${PIDS[$name]}" && pid=${PIDS[$name]}; done
    [[ -z $pid ]] && break
    sleep 0.5
  done
  for name in "$@"; do
    if alive "${PIDS[$name]}"; then
      kill -KILL "${PIDS[$name]}" 2>/dev/null && echo "$name did not stop in 15 s: killed"
    fi
    wait "${PIDS[$name]}" 2>/dev/null || true
    unset "PIDS[$name]"
  done
}

cleanup() {  # exit status: 0 after Ctrl+C or TERM, the failing command's otherwise
  local rc=$1
  trap - INT TERM EXIT
  if ((${#PIDS[@]})); then
    log "stopping ${!PIDS[*]}"
    stop_all "${!PIDS[@]}"
  fi
  echo "logs kept in $RUN_DIR"
  exit "$rc"
}
trap 'cleanup 0' INT TERM
trap 'cleanup $?' EXIT

port_free() {
  "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

ensure_database() {
  # only the default URL is created; a URL you give must point at an existing database
  [[ $THUPHI_DATABASE_URL == postgresql+psycopg://postgres@127.0.0.1:5432/ops_cluster ]] || return 0
  "$PY" - <<'EOF'
from sqlalchemy import create_engine, text
admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'ops_cluster'")).scalar():
        conn.execute(text("CREATE DATABASE ops_cluster"))
        print("created database ops_cluster")
EOF
}

start_web() {  # name port
  THUPHI_BIND=127.0.0.1:$2 THUPHI_WEB_WORKERS=${WEB_WORKERS:-2} \
    "$GUNICORN" -c python:payments.gunicorn_conf --pid "$RUN_DIR/$1.pid" --control-socket "$RUN_DIR/$1.ctl" 'payments.app:create_app()' \
    >"$RUN_DIR/$1.log" 2>&1 &
  PIDS[$1]=$!
  echo "$1: gunicorn pid ${PIDS[$1]} on http://127.0.0.1:$2 (log $RUN_DIR/$1.log)"
}

start_scheduler() {  # name
  "$THUPHI" scheduler >>"$RUN_DIR/$1.log" 2>&1 &
  PIDS[$1]=$!
  echo "$1: thuphi scheduler pid ${PIDS[$1]}, scheduler_id $(hostname):${PIDS[$1]} (log $RUN_DIR/$1.log)"
}

wait_ready() {  # port: /readyz answers 200 (database, migrations at head, a scheduler heartbeat)
  "$PY" - "$1" <<'EOF'
import sys, time, requests
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
for _ in range(120):
    try:
        r = requests.get(url, timeout=5)
        if r.status_code == 200:
            print(f"{url} -> 200 {r.json()}")
            sys.exit(0)
    except requests.RequestException:
        pass
    time.sleep(1)
sys.exit(f"{url} never became ready")
EOF
}

status() {
  "$PY" - <<'EOF'
import os
from sqlalchemy import create_engine, text
QUERIES = {
    "job runs (one row per job and period) by scheduler": """
        SELECT job_id, scheduler_id, count(*) AS periods, max(started_at)::timestamp(0) AS last_run
        FROM job_runs GROUP BY 1, 2 ORDER BY 1, 2""",
    "scheduler heartbeats": """
        SELECT scheduler_id, beat_at::timestamp(0), (now() - beat_at < interval '90 seconds') AS alive
        FROM scheduler_heartbeats ORDER BY beat_at DESC""",
    "payment requests": "SELECT status, count(*) FROM payment_requests GROUP BY 1 ORDER BY 1",
    "outbox events (each request expires with exactly one event)": """
        SELECT topic, count(*) AS events, count(DISTINCT aggregate_id) AS aggregates,
               count(*) FILTER (WHERE fanned_out) AS fanned_out
        FROM outbox_events GROUP BY 1 ORDER BY 1""",
    "outbox deliveries": "SELECT subscriber, status, count(*) FROM outbox_deliveries GROUP BY 1, 2 ORDER BY 1, 2",
}
engine = create_engine(os.environ["THUPHI_DATABASE_URL"])
with engine.connect() as conn:
    for title, sql in QUERIES.items():
        result = conn.execute(text(sql))
        rows = result.all()
        print(f"-- {title}")
        print("   " + " | ".join(result.keys()))
        for row in rows or [("(none)",)]:
            print("   " + " | ".join(str(v) for v in row))
EOF
}

demo_traffic() {  # a client, a token from web-1, three payment requests through each web process
  local creds
  creds=$("$THUPHI" clients create cluster-demo --scope payments:write --json 2>/dev/null)
  CREDS=$creds "$PY" - "$WEB1_PORT" "$WEB2_PORT" <<'EOF'
import json, os, sys, uuid, requests
creds = json.loads(os.environ["CREDS"])
ports = sys.argv[1:]
token = requests.post(f"http://127.0.0.1:{ports[0]}/api/v1/token", timeout=10,
                      json={k: creds[k] for k in ("client_id", "client_secret")}).json()["access_token"]
for i in range(6):
    port = ports[i % 2]
    dossier = f"H40.12-CLUSTER-{uuid.uuid4().hex[:6]}"
    r = requests.post(f"http://127.0.0.1:{port}/api/v1/payment-requests", timeout=30,
                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": dossier},
                      json={"dossier_code": dossier, "procedure_code": "1.001234", "channel": "online",
                            "payer": {"name": "Nguyễn Văn An"}})
    body = r.json()
    print(f"  via :{port} -> {r.status_code} {body.get('reference')} expires {body.get('expires_at')}"
          f" (request id {r.headers.get('X-Request-Id')})")
EOF
}

winning_scheduler() {  # the scheduler name whose id claimed the latest period of any job
  local id
  id=$("$PY" - <<'EOF'
import os
from sqlalchemy import create_engine, text
with create_engine(os.environ["THUPHI_DATABASE_URL"]).connect() as conn:
    print(conn.execute(text("SELECT scheduler_id FROM job_runs ORDER BY started_at DESC LIMIT 1")).scalar() or "")
EOF
)
  for name in scheduler-1 scheduler-2; do
    [[ -n ${PIDS[$name]:-} && $id == "$(hostname):${PIDS[$name]}" ]] && { echo "$name"; return; }
  done
}

for port in "$WEB1_PORT" "$WEB2_PORT"; do
  port_free "$port" || { echo "port $port is taken: set WEB1_PORT / WEB2_PORT" >&2; exit 1; }
done

log "database ${THUPHI_DATABASE_URL}"
ensure_database
"$THUPHI" db upgrade
"$THUPHI" catalog import payments/demo/catalog.json

log "starting two web processes and two schedulers (run directory $RUN_DIR)"
start_web web-1 "$WEB1_PORT"
start_web web-2 "$WEB2_PORT"
start_scheduler scheduler-1
start_scheduler scheduler-2
wait_ready "$WEB1_PORT"
wait_ready "$WEB2_PORT"

if [[ ${DEMO_TRAFFIC:-1} == 1 ]]; then
  log "demo traffic: six payment requests through both web processes (expire after $THUPHI_REQUEST_TTL)"
  demo_traffic
fi

PSQL_URL=${THUPHI_DATABASE_URL/+psycopg/}
cat <<EOF

== the cluster runs; Ctrl+C stops it
  web-1  http://127.0.0.1:$WEB1_PORT   (/healthz /readyz /metrics /api/docs)
  web-2  http://127.0.0.1:$WEB2_PORT
  logs   $RUN_DIR   (JSON lines; every web line carries request_id)

  See the two schedulers share the work (a status table also prints every ${STATUS_EVERY}s):
    psql '$PSQL_URL' -c 'SELECT job_id, scheduler_id, count(*), max(started_at) FROM job_runs GROUP BY 1, 2'
    psql '$PSQL_URL' -c 'SELECT * FROM scheduler_heartbeats'
    psql '$PSQL_URL' -c 'SELECT topic, count(*), count(DISTINCT aggregate_id) FROM outbox_events GROUP BY 1'
    curl -s http://127.0.0.1:$WEB2_PORT/metrics | grep -E '^thuphi_(outbox|payment_requests)'

  Each (job, period) is claimed by one scheduler: the one whose tick comes first in the period
  keeps winning while it runs. The failover drill (FAILOVER_AFTER=$FAILOVER_AFTER s) stops the
  winner so the other takes the next periods over, then restarts it.
EOF

started=$SECONDS
drill=0
while true; do
  sleep "$STATUS_EVERY" &
  wait $! || true
  log "status after $((SECONDS - started)) s"
  status
  if [[ $FAILOVER_AFTER != 0 && $drill == 0 && $((SECONDS - started)) -ge $FAILOVER_AFTER ]]; then
    name=$(winning_scheduler)
    if [[ -n $name ]]; then
      log "failover drill: stopping $name (pid ${PIDS[$name]}); the other scheduler takes over"
      stop_all "$name"
      drill=$SECONDS
      stopped=$name
    fi
  fi
  if [[ $drill != 0 && -n ${stopped:-} && $((SECONDS - drill)) -ge 120 ]]; then
    log "failover drill: restarting $stopped"
    start_scheduler "$stopped"
    stopped=
  fi
done
