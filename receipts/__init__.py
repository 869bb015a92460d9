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
- Each agency signs with its own pair (``receipts.signers``: THUPHI_RECEIPT_SIGNERS, else the
  default THUPHI_RECEIPT_KEY / THUPHI_RECEIPT_CERT); an agency with neither gets no receipt, the
  issue delivery keeps failing with the reason, and ``pending-tax`` names the agency. PKCS#11 is
  recognised in the file but not supported in this build (reported, never replaced by another key).
- The signature carries its signing time as a signed ``xades:SigningTime`` SignatureProperty
  (as Vietnamese e-invoices do) and sits beside the data it signs (detached, same document).
- Kind and payment method are written in Vietnamese words (``receipts.vocabulary``).
- A replacement takes the next number of the *current* year's series and may correct the payer,
  the fee lines and the amounts (TT 91 Điều 20). The difference is stated on the replacement
  (``money_consequence``: refund due / additional payment due, with the request concerned) and
  announced on the outbox (``receipt.amount_corrected``); payments' public services act on it
  (an additional request for the difference, or the paid request flagged refund-due).
- A refund (``POST /payment-requests/{id}/refunds``) replaces the receipts it touched, through
  the outbox subscriber ``receipts.refund`` (``services.refunds``): TT 91 Điều 20 has no
  adjusting biên lai, so the replacement states what is kept (0 đồng after a full refund). An
  overpayment's excess goes back first (never receipted), then phí lines, then lệ phí. The
  budget counts the replacement's difference on the day the money went back.
- An error notice (Mẫu 04/SS-CTĐT) is stored against the receipt and sent to the tax authority
  through the outbox; its status is on the notice.
- The summary (Mẫu 01/TH-BLĐT, ``receipts.summaries``) is sent the same day: the day so far at
  THUPHI_RECEIPT_SUMMARY_AT, then supplements; a finished day's leftovers go out marked late
  (catching up a week). Each sending is signed by the agency; days without receipts send nothing.
"""
