"""PayGov status tables (anything not listed is pending, never paid: STYLE rule 12) and the
receipt block of an INIT from our plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.base import TxnStatus
from providers.paygov.schemas import FEE_KIND, SERVICE_FEES, receipt_block

# MaLoi of a RESULT callback. "00" is the only success. The failure codes are our reading of the
# platform's error list: those that end the transaction for good.
RESULT_STATUS: dict[str, TxnStatus] = {
    "00": TxnStatus.PAID,
    "01": TxnStatus.FAILED,  # giao dịch thất bại (transaction failed)
    "02": TxnStatus.FAILED,  # người nộp huỷ giao dịch (payer cancelled)
    "03": TxnStatus.FAILED,  # hết thời gian thanh toán (payment window expired)
    "04": TxnStatus.FAILED,  # tài khoản không đủ số dư (insufficient funds)
    "05": TxnStatus.FAILED,  # thẻ/tài khoản bị khoá (card or account locked)
    "06": TxnStatus.FAILED,  # xác thực OTP thất bại (authentication failed)
    "09": TxnStatus.FAILED,  # ngân hàng từ chối (declined by the bank)
}

# TrangThaiGD of a status query reply (DESIGN §2): 1 paid, 3 pending, 4 failed.
QUERY_STATUS: dict[str, TxnStatus] = {
    "1": TxnStatus.PAID,
    "3": TxnStatus.PENDING,
    "4": TxnStatus.FAILED,
}

# a result may leave MaTienTe out (the INIT said VND, the platform knows no other currency)
CURRENCIES: dict[str, str] = {"704": "VND", "VND": "VND", "": "VND"}


def result_status(ma_loi: str) -> TxnStatus:
    return RESULT_STATUS.get(ma_loi, TxnStatus.PENDING)


def query_status(trang_thai: str) -> TxnStatus:
    return QUERY_STATUS.get(trang_thai, TxnStatus.PENDING)


def currency(code: str) -> str:
    """ISO 4217 alpha code; an unknown code passes through so the amount check can refuse it."""
    return CURRENCIES.get(code, code)


@dataclass(frozen=True)
class FeeLine:
    """One payable fee line: ``kind`` "phi" or "le_phi" as in the catalog."""

    kind: str
    code: str
    name: str
    amount: int


@dataclass(frozen=True)
class BillInfo:
    """What the platform's receipt block needs, as plain values from our catalog and request."""

    dossier_code: str
    procedure_code: str
    procedure_name: str
    dvc_code: str | None
    agency_code: str
    agency_name: str
    account_number: str
    bank_bin: str
    account_name: str
    treasury: bool
    payer_name: str
    payer_id_number: str
    payer_address: str
    description: str
    amount: int
    lines: tuple[FeeLine, ...]


def dvc_code(procedure_code: str, configured: str | None) -> str:
    """``MaDVC``: the catalog's, else ``<procedure code>.01`` [TD InitPayment: MaTTHC + ".01"]."""
    return configured or f"{procedure_code}.01"


def receipt_info(bill: BillInfo) -> dict[str, Any]:
    """``ThongTinBienLai`` of an INIT for fees: routing (service, agency, dossier), the
    beneficiary account the platform credits, the fee lines by kind, and the payer."""
    # [TD] cuts a long procedure name (its column holds 250 characters)
    name = bill.procedure_name if len(bill.procedure_name) <= 250 else bill.procedure_name[:247]
    values = {
        "MaDichVu": SERVICE_FEES,
        "MaDVC": dvc_code(bill.procedure_code, bill.dvc_code),
        "TenDVC": name,
        "MaTTHC": bill.procedure_code,
        "TenTTHC": name,
        "MaDonVi": bill.agency_code,
        "TenDonVi": bill.agency_name,
        "MaHoSo": bill.dossier_code,
        "TKThuHuong": bill.account_number,
        "MaNHThuHuong": bill.bank_bin,
        "TenTKThuHuong": bill.account_name,
        # the collecting agency decides the fee [OCPS fills these from its agency configuration]
        "MaCoQuanQD": bill.agency_code,
        "TenCoQuanQD": bill.agency_name,
        "TaiKhoanThuNSNN": bill.account_number if bill.treasury else "",
        "NoiDungThanhToan": bill.description,
        "HoTenNguoiNop": bill.payer_name,
        "SoCMNDNguoiNop": bill.payer_id_number,
        "DiaChiNguoiNop": bill.payer_address,
    }
    fee_lines = [
        {
            "LoaiPhiLePhi": FEE_KIND[line.kind],
            "MaPhiLePhi": line.code,
            "TenPhiLePhi": line.name,
            "SoTien": str(line.amount),
        }
        for line in bill.lines
        if line.amount > 0
    ]
    # one item for the whole payment, as both public clients send [TD, OCPS]
    items = [{"NoiDung": bill.description, "SoTien": str(bill.amount)}]
    return receipt_block(values, fee_lines, items)
