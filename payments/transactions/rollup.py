"""The console rollup's triggers, written from the Python tables they depend on.

``console_payment_days`` and ``console_reduction_days`` (migration 0008) hold daily sums of
applied payments and of fee reductions per business day; the database keeps them in the
transaction that changes a source row. Which requests' reductions count (``state.COUNTED``),
which transactions are payments (``TxnState.APPLIED``) and where a business day starts
(``clock.VN_TZ``) are rules of the application: the triggers' SQL is generated here from them,
installed by migration 0011, and ``tests/reconciliation/test_rollup_triggers.py`` checks the
installed triggers against this module (a change of a rule needs a migration that reinstalls
them).

PostgreSQL: statement triggers with transition tables (a bulk statement costs one grouped upsert
that locks rollup rows in key order); SQLite: row triggers running the same statements per row.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants, nothing else

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from payments.clock import VN_TZ
from payments.payment_requests.state import COUNTED, sql_list
from payments.transactions.models import TxnState


def _fixed_offset_hours() -> int:
    """Vietnam's UTC offset in whole hours, the same all year (SQLite has no time zones)."""
    moments = [datetime(y, m, 1, tzinfo=UTC) for y in (2000, 2026) for m in range(1, 13)]
    (offset,) = {moment.astimezone(VN_TZ).utcoffset() for moment in moments}
    if offset is None or offset % timedelta(hours=1):
        raise ValueError(f"{VN_TZ.key} is not a whole number of hours from UTC")
    return offset // timedelta(hours=1)


# the business day of a timestamp column, per dialect
DAY = {
    "postgresql": f"(({{}}) AT TIME ZONE '{VN_TZ.key}')::date",
    "sqlite": f"date({{}}, '{_fixed_offset_hours():+d} hours')",
}

PAY_KEY = "agency_code, account_id, day, provider, procedure_code"
RED_KEY = "agency_code, day, legal_basis"
# concurrent payments of one agency, day, channel and procedure would queue on one rollup row
# until each commits: on PostgreSQL a backend adds to one of 8 rows (its slot), readers sum them
SLOT = {"postgresql": "pg_backend_pid() % 8", "sqlite": "0"}
TXN_COLUMNS = ("state", "account_id", "occurred_at", "provider", "amount", "payment_request_id")
LINE_COLUMNS = (
    "payment_request_id",
    "reduction_policy_id",
    "reduction_legal_basis",
    "normal_amount",
    "amount",
)
REQUEST_COLUMNS = ("id", "agency_code", "procedure_code", "created_at", "status")


def pay_of_txns(txns: str, sign: str, day: str) -> str:
    """(key…, payments, amount) contributed by the transactions ``txns`` (aliased t)."""
    return (
        f"SELECT r.agency_code, t.account_id, {day.format('t.occurred_at')} AS day, t.provider,"
        f" r.procedure_code, {sign} AS payments, {sign} * t.amount AS amount FROM {txns} t"
        " JOIN payment_requests r ON r.id = t.payment_request_id"
        f" WHERE t.state = '{TxnState.APPLIED.value}' AND t.account_id IS NOT NULL"
    )


def pay_of_requests(requests: str, sign: str, day: str) -> str:
    """The same for the transactions of the requests ``requests`` (aliased r)."""
    return (
        f"SELECT r.agency_code, t.account_id, {day.format('t.occurred_at')} AS day, t.provider,"
        f" r.procedure_code, {sign} AS payments, {sign} * t.amount AS amount FROM {requests} r"
        " JOIN payment_transactions t ON t.payment_request_id = r.id"
        f" WHERE t.state = '{TxnState.APPLIED.value}' AND t.account_id IS NOT NULL"
    )


def red_of_lines(lines: str, sign: str, day: str) -> str:
    """(key…, lines, amount) contributed by the fee lines ``lines`` (aliased l)."""
    return (
        f"SELECT r.agency_code, {day.format('r.created_at')} AS day,"
        " coalesce(l.reduction_legal_basis, '') AS legal_basis,"
        f" {sign} AS lines, {sign} * (l.normal_amount - l.amount) AS amount FROM {lines} l"
        " JOIN payment_requests r ON r.id = l.payment_request_id"
        f" WHERE l.reduction_policy_id IS NOT NULL AND r.status IN {sql_list(COUNTED)}"
    )


def red_of_requests(requests: str, sign: str, day: str) -> str:
    """The same for the reduced lines of the requests ``requests`` (aliased r)."""
    return (
        f"SELECT r.agency_code, {day.format('r.created_at')} AS day,"
        " coalesce(l.reduction_legal_basis, '') AS legal_basis,"
        f" {sign} AS lines, {sign} * (l.normal_amount - l.amount) AS amount FROM {requests} r"
        " JOIN payment_lines l ON l.payment_request_id = r.id"
        f" WHERE l.reduction_policy_id IS NOT NULL AND r.status IN {sql_list(COUNTED)}"
    )


def upsert(table: str, key: str, count: str, parts: Sequence[str], prefix: str, slot: str) -> str:
    """Add the grouped ``parts`` to ``table`` in ``slot``; groups that cancel out write nothing.
    ORDER BY: concurrent statements lock rollup rows in one order, so they cannot deadlock."""
    return (
        f"{prefix}INSERT INTO {table} ({key}, slot, {count}, amount)"
        f" SELECT {key}, {slot}, sum({count}), sum(amount) FROM ({' UNION ALL '.join(parts)}) c"
        f" WHERE true GROUP BY {key} HAVING sum({count}) <> 0 OR sum(amount) <> 0"
        f" ORDER BY {key} ON CONFLICT ({key}, slot) DO UPDATE SET {count} = {table}.{count} +"
        f" excluded.{count}, amount = {table}.amount + excluded.amount"
    )


def pay_upsert(*parts: str, prefix: str = "", slot: str = "0") -> str:
    return upsert("console_payment_days", PAY_KEY, "payments", parts, prefix, slot)


def red_upsert(*parts: str, prefix: str = "", slot: str = "0") -> str:
    return upsert("console_reduction_days", RED_KEY, "lines", parts, prefix, slot)


def row(which: str, columns: Sequence[str]) -> str:
    """A trigger's OLD or NEW row as a one-row table the builders above can read."""
    return "(SELECT " + ", ".join(f"{which}.{c} AS {c}" for c in columns) + ")"


def moved(rows: str) -> str:
    """``rows`` (a transition table) limited to requests whose keys changed."""
    return f"(SELECT * FROM {rows} WHERE id IN (SELECT id FROM moved))"


def moved_when(*columns: str) -> str:
    """The CTE ``moved``: the updated requests where one of ``columns`` changed."""
    before = ", ".join(f"o.{c}" for c in columns)
    after = ", ".join(f"n.{c}" for c in columns)
    return (
        "WITH moved AS (SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id"
        f" WHERE ({before}) IS DISTINCT FROM ({after})) "
    )


def pg_statement_triggers(day: str) -> list[tuple[str, str, str, str, list[str]]]:
    """(function, table, event, REFERENCING …, statements) per PostgreSQL statement trigger."""
    old, new = "OLD TABLE AS old_rows", "NEW TABLE AS new_rows"
    pay, red = (
        partial(pay_upsert, slot=SLOT["postgresql"]),
        partial(red_upsert, slot=SLOT["postgresql"]),
    )
    return [
        ("console_txn_insert", "payment_transactions", "INSERT", new,
         [pay(pay_of_txns("new_rows", "1", day))]),
        ("console_txn_update", "payment_transactions", "UPDATE", f"{old} {new}",
         [pay(pay_of_txns("new_rows", "1", day), pay_of_txns("old_rows", "-1", day))]),
        ("console_txn_delete", "payment_transactions", "DELETE", old,
         [pay(pay_of_txns("old_rows", "-1", day))]),
        ("console_line_insert", "payment_lines", "INSERT", new,
         [red(red_of_lines("new_rows", "1", day))]),
        ("console_line_update", "payment_lines", "UPDATE", f"{old} {new}",
         [red(red_of_lines("new_rows", "1", day), red_of_lines("old_rows", "-1", day))]),
        ("console_line_delete", "payment_lines", "DELETE", old,
         [red(red_of_lines("old_rows", "-1", day))]),
        # a request's agency and procedure key its payments; its status, agency and creation
        # day key its reductions: only requests where those changed are looked at (a payment
        # changes the status, so its update reads the request's reduced lines, nothing else)
        ("console_request_update", "payment_requests", "UPDATE", f"{old} {new}", [
            pay(
                pay_of_requests(moved("new_rows"), "1", day),
                pay_of_requests(moved("old_rows"), "-1", day),
                prefix=moved_when("agency_code", "procedure_code"),
            ),
            red(
                red_of_requests(moved("new_rows"), "1", day),
                red_of_requests(moved("old_rows"), "-1", day),
                prefix=moved_when("status", "agency_code", "created_at"),
            ),
        ]),
    ]  # fmt: skip


def sqlite_triggers(day: str) -> list[tuple[str, str, list[str]]]:
    """(name, the trigger's head after ON, statements) per SQLite row trigger."""
    t_new, t_old = row("NEW", TXN_COLUMNS), row("OLD", TXN_COLUMNS)
    l_new, l_old = row("NEW", LINE_COLUMNS), row("OLD", LINE_COLUMNS)
    r_new, r_old = row("NEW", REQUEST_COLUMNS), row("OLD", REQUEST_COLUMNS)
    txn_update = "AFTER UPDATE OF " + ", ".join(TXN_COLUMNS)
    line_update = "AFTER UPDATE OF " + ", ".join(LINE_COLUMNS)

    on_request = "AFTER UPDATE ON payment_requests"

    def changed(*columns: str) -> str:
        return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)

    payment_keys = changed("agency_code", "procedure_code")
    reduction_keys = changed("status", "agency_code", "created_at")

    return [
        ("console_txn_insert", "AFTER INSERT ON payment_transactions",
         [pay_upsert(pay_of_txns(t_new, "1", day))]),
        ("console_txn_update", f"{txn_update} ON payment_transactions",
         [pay_upsert(pay_of_txns(t_new, "1", day), pay_of_txns(t_old, "-1", day))]),
        ("console_txn_delete", "AFTER DELETE ON payment_transactions",
         [pay_upsert(pay_of_txns(t_old, "-1", day))]),
        ("console_line_insert", "AFTER INSERT ON payment_lines",
         [red_upsert(red_of_lines(l_new, "1", day))]),
        ("console_line_update", f"{line_update} ON payment_lines",
         [red_upsert(red_of_lines(l_new, "1", day), red_of_lines(l_old, "-1", day))]),
        ("console_line_delete", "AFTER DELETE ON payment_lines",
         [red_upsert(red_of_lines(l_old, "-1", day))]),
        ("console_request_keys", f"{on_request} WHEN {payment_keys}",
         [pay_upsert(pay_of_requests(r_new, "1", day), pay_of_requests(r_old, "-1", day))]),
        ("console_request_update", f"{on_request} WHEN {reduction_keys}",
         [red_upsert(red_of_requests(r_new, "1", day), red_of_requests(r_old, "-1", day))]),
        ("console_request_delete", "BEFORE DELETE ON payment_requests",
         [red_upsert(red_of_requests(r_old, "-1", day))]),
    ]  # fmt: skip


def plpgsql(name: str, statements: Sequence[str], returns: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
        f" $${_body(statements, returns)}$$"
    )


def create_statements(dialect: str) -> list[str]:
    """The DDL that installs every rollup trigger on ``dialect``."""
    day = DAY[dialect]
    out: list[str] = []
    if dialect == "postgresql":
        for function, table, event, referencing, statements in pg_statement_triggers(day):
            out.append(plpgsql(function, statements, "NULL"))
            out.append(
                f"CREATE TRIGGER {function} AFTER {event} ON {table} REFERENCING {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        out.append(plpgsql("console_request_delete", [request_delete(day)], "OLD"))
        out.append(
            "CREATE TRIGGER console_request_delete BEFORE DELETE ON payment_requests"
            " FOR EACH ROW EXECUTE FUNCTION console_request_delete()"
        )
        return out
    for name, head, statements in sqlite_triggers(day):
        out.append(sqlite_trigger(name, head, statements))
    return out


def sqlite_trigger(name: str, head: str, statements: Sequence[str]) -> str:
    body = "".join(f"{s};\n" for s in statements)
    return f"CREATE TRIGGER {name} {head} BEGIN\n{body}END"


def request_delete(day: str) -> str:
    """PostgreSQL's row trigger: a deleted request's reduced lines leave while they exist."""
    gone = red_of_requests(row("OLD", REQUEST_COLUMNS), "-1", day)
    return red_upsert(gone, slot=SLOT["postgresql"])


def digest(dialect: str) -> str:
    """A short fingerprint of the triggers' SQL on ``dialect``: the migration that installs them
    records it, and a test holds the two equal."""
    return hashlib.sha256("\n".join(create_statements(dialect)).encode()).hexdigest()[:16]


def drop_statements(dialect: str) -> list[str]:
    """The DDL that removes every rollup trigger (and PostgreSQL's functions) from ``dialect``."""
    if dialect == "postgresql":
        out = []
        for function, table, *_ in pg_statement_triggers(DAY[dialect]):
            out += [f"DROP TRIGGER {function} ON {table}", f"DROP FUNCTION {function}()"]
        return [
            *out,
            "DROP TRIGGER console_request_delete ON payment_requests",
            "DROP FUNCTION console_request_delete()",
        ]
    return [f"DROP TRIGGER {name}" for name, *_ in sqlite_triggers(DAY[dialect])]


def function_bodies(dialect: str = "postgresql") -> dict[str, str]:
    """PostgreSQL: each trigger function's body as ``pg_proc.prosrc`` holds it."""
    day = DAY[dialect]
    bodies = {f: _body(statements, "NULL") for f, _, _, _, statements in pg_statement_triggers(day)}
    bodies["console_request_delete"] = _body([request_delete(day)], "OLD")
    return bodies


def _body(statements: Sequence[str], returns: str) -> str:
    body = "".join(f"{s};\n" for s in statements)
    return f"\nBEGIN\n{body}RETURN {returns};\nEND\n"
