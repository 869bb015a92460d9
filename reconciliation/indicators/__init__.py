"""Indicators an agency reports on its collections (QĐ 766/QĐ-TTg: dossiers paid online)."""
