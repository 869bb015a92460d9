"""The tax authority's receipt data interface (Mẫu 01/TH-BLĐT summaries, receipt XML)."""

from providers.taxauthority.client import TaxAuthorityClient
from providers.taxauthority.schemas import SummaryDocument, summary_problems

__all__ = ["SummaryDocument", "TaxAuthorityClient", "summary_problems"]
