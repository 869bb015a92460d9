"""Read models for the console: what an officer sees, always filtered to their agencies.

One module per page family; each public function opens one unit of work and returns plain data.
"""

from reconciliation.console.services.accounts import (
    DayState,
    account_page,
    account_visible,
    calendar,
    list_accounts,
    statement_page,
)
from reconciliation.console.services.admin import fee_schedule
from reconciliation.console.services.common import (
    CHANNELS,
    Scope,
    applied_in,
    channel_of,
    scope_accounts,
    scoped,
)
from reconciliation.console.services.dashboard import (
    Dashboard,
    attention,
    collections,
    dashboard,
    online_ratio,
    parked_deliveries,
    payment_days,
    reductions,
)
from reconciliation.console.services.days import DayQuery, day_view, is_bank_fee, similarity
from reconciliation.console.services.payment_requests import (
    RequestFilter,
    find_request_id,
    pick_requests,
    request_detail,
    requests_by_id,
    search_requests,
)
from reconciliation.console.services.receipts import ReceiptFilter, search_receipts
from reconciliation.console.services.trail import (
    audit_trail,
    exception_account,
    resolutions,
    run_account,
)

__all__ = [
    "CHANNELS",
    "Dashboard",
    "DayQuery",
    "DayState",
    "ReceiptFilter",
    "RequestFilter",
    "Scope",
    "account_page",
    "account_visible",
    "applied_in",
    "attention",
    "audit_trail",
    "calendar",
    "channel_of",
    "collections",
    "dashboard",
    "day_view",
    "exception_account",
    "fee_schedule",
    "find_request_id",
    "is_bank_fee",
    "list_accounts",
    "online_ratio",
    "parked_deliveries",
    "payment_days",
    "pick_requests",
    "reductions",
    "request_detail",
    "requests_by_id",
    "resolutions",
    "run_account",
    "scope_accounts",
    "scoped",
    "search_receipts",
    "search_requests",
    "similarity",
    "statement_page",
]
