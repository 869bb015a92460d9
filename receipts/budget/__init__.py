"""Remitting to the state budget (DESIGN §2): obligations from receipts, remittances to KBNN."""
