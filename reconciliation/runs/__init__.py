"""Daily runs: load a day in bulk (``loading``), match it and store the run (``running``), apply
its credits (``applying``), read runs (``reading``), resolve exceptions (``resolving``)."""

from reconciliation.runs.applying import (
    APPLY_CHUNK,
    PROVIDER,
    STREAMS,
    Progress,
    apply_line_credits,
    apply_statement_credits,
)
from reconciliation.runs.loading import load_day
from reconciliation.runs.reading import exception_view, get_run, run_view
from reconciliation.runs.resolving import ALLOWED_ACTIONS, ResolveException, resolve_exception
from reconciliation.runs.running import (
    ReconcileDay,
    previous_business_day,
    reconcile_all,
    reconcile_day,
)

_ALLOWED = ALLOWED_ACTIONS  # the console's name for it (reconciliation/console/views.py)

__all__ = [
    "ALLOWED_ACTIONS",
    "APPLY_CHUNK",
    "PROVIDER",
    "STREAMS",
    "Progress",
    "ReconcileDay",
    "ResolveException",
    "apply_line_credits",
    "apply_statement_credits",
    "exception_view",
    "get_run",
    "load_day",
    "previous_business_day",
    "reconcile_all",
    "reconcile_day",
    "resolve_exception",
    "run_view",
]
