"""The tax authority's receipt data interface (Mẫu 01/TH-BLĐT summaries, receipt XML)."""

from providers.taxauthority.client import TaxAuthorityClient
from providers.taxauthority.schemas import (
    NoticeDocument,
    SummaryDocument,
    notice_problems,
    summary_problems,
)

__all__ = [
    "NoticeDocument",
    "SummaryDocument",
    "TaxAuthorityClient",
    "notice_problems",
    "summary_problems",
]
