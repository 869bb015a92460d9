"""What the PayGov provider tests share: a receipt block's plain values (BillInfo)."""

from __future__ import annotations

from providers.paygov.mapping import BillInfo, FeeLine

BILL = BillInfo(
    dossier_code="000.00.12.H40-261205-0001",
    procedure_code="1.001234",
    procedure_name="Cấp Phiếu lý lịch tư pháp",
    dvc_code=None,
    agency_code="000.00.12.H40",
    agency_name="Sở Tư pháp tỉnh Hà Tĩnh",
    account_number="3761.0.1234567",
    bank_bin="970415",
    account_name="SO TU PHAP HA TINH",
    treasury=True,
    payer_name="Nguyễn Văn A",
    payer_id_number="042090000123",
    payer_address="",
    description="THANH TOAN HO SO 000.00.12.H40-261205-0001",
    amount=115_000,
    lines=(
        FeeLine("phi", "LLTP", "Phí cung cấp thông tin lý lịch tư pháp", 100_000),
        FeeLine("le_phi", "LP", "Lệ phí", 15_000),
    ),
)
