"""E-receipts (biên lai điện tử, Nghị định 254/2026/NĐ-CP, Thông tư 91/2026/TT-BTC).

How it fits together:

- ``payments`` emits ``payment_request.paid`` / ``.overpaid`` in the transaction that records the
  payment; the outbox subscriber ``receipts.issue`` (``jobs.subscribers``) issues the receipts in
  the delivery's own transaction, so issuing is exactly once and never runs inside a callback.
- ``services.issue_for_request`` locks the request row, skips kinds already issued (the unique
  ``origin_key`` "<request>:<kind>" makes the database refuse a second one) and issues one
  receipt per fee kind (phí, lệ phí) whose lines carry money.
- Numbers come from ``receipt_counters`` (one row per agency, template, series, year) with
  ``UPDATE … RETURNING`` in that same transaction: continuous, no gap, no duplicate, and a
  rolled-back issue gives its number back. The issue instant is read after the lock.
- Every ``receipt.issued`` and every daily ``receipt_summary.created`` is sent to the tax
  authority by its own outbox subscriber, retried until accepted; ``jobs.pending_tax`` (CLI
  ``thuphi receipts pending-tax``) shows what is late.

Decisions where the law and the issue are silent:

- A fully exempt request (total 0) gets no receipt, and neither does a kind whose lines total 0
  (e.g. an exempt lệ phí beside a paid phí): no money was collected for it. Exempt lines within a
  kind that has money are printed with their exemption and its legal basis.
- An overpaid request gets receipts for the amounts due; the excess is flagged for refund by
  payments and is not the agency's revenue. A second payment never issues a second receipt.
- A request that is no longer paid when the delivery runs (a POS void reversed it) gets none;
  paying it again emits a new ``paid`` event.
- The series is the agency's first catalog series (``EBL01``) whose year is the Vietnamese
  calendar year of issue. With none, the delivery fails with ``no-receipt-series``: retried with
  backoff, then parked, listed by ``pending-tax`` under ``unissued_payments`` until an admin
  imports the series (then ``thuphi outbox retry`` if it was parked). Nothing is issued in a
  wrong year's series.
- The payment channel printed is the provider of the request's latest applied payment (bank →
  transfer, paygov, pos); a request settled from the statement alone is a transfer.
- One signing pair (THUPHI_RECEIPT_KEY / THUPHI_RECEIPT_CERT) signs for every agency until the
  configuration grows a pair per agency.
- A replacement keeps the original's lines and amounts (a wrong amount is a refund, not a
  replacement) and takes the next number of the *current* year's series. An error notice
  (Mẫu 04/SS-CTĐT) is stored against the receipt; the tax-authority interface has no endpoint for
  notices yet, so they are not transmitted.
- The daily summary (Mẫu 01/TH-BLĐT) is one document per agency, series and business day with
  receipts, a snapshot taken when the day is over (the job runs hourly and catches up a week);
  days without receipts send nothing.
"""
