"""PayGov status tables. Anything not listed is pending, never paid (STYLE rule 12)."""

from __future__ import annotations

from providers.base import TxnStatus

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

CURRENCIES: dict[str, str] = {"704": "VND", "VND": "VND"}


def result_status(ma_loi: str) -> TxnStatus:
    return RESULT_STATUS.get(ma_loi, TxnStatus.PENDING)


def query_status(trang_thai: str) -> TxnStatus:
    return QUERY_STATUS.get(trang_thai, TxnStatus.PENDING)


def currency(code: str) -> str:
    """ISO 4217 alpha code; an unknown code passes through so the amount check can refuse it."""
    return CURRENCIES.get(code, code)
