"""The platform's receipts (GET_BILL): PDFs kept by their SHA-256, each stored once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base


class PaygovBill(Base):
    """One receipt document; attempts point at it by ``sha256`` (content-addressed)."""

    __tablename__ = "paygov_bills"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(64), default="application/pdf")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
