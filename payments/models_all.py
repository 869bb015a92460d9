"""Every mapped model of every package, so Alembic and the tests see one complete metadata."""

from __future__ import annotations

from payments.auth import models as auth_models
from payments.catalog import models as catalog_models
from payments.db import Base
from payments.ops import models as ops_models
from payments.outbox import models as outbox_models
from payments.paygov import models as paygov_models
from payments.payment_requests import models as request_models
from payments.transactions import models as transaction_models
from receipts import models as receipt_models
from receipts.budget import models as budget_models
from reconciliation import models as reconciliation_models
from reconciliation.console import models as console_models

metadata = Base.metadata
__all__ = [
    "auth_models",
    "budget_models",
    "catalog_models",
    "console_models",
    "metadata",
    "ops_models",
    "outbox_models",
    "paygov_models",
    "receipt_models",
    "reconciliation_models",
    "request_models",
    "transaction_models",
]
