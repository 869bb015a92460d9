"""VietQR (NAPAS bank-transfer QR): payload codec, bank directory, image rendering."""

from payments.vietqr.banks import bank_name, is_known, short_name
from payments.vietqr.codec import DecodedQR, VietQRError, decode, encode, memo_for, to_ascii

__all__ = [
    "DecodedQR",
    "VietQRError",
    "bank_name",
    "decode",
    "encode",
    "is_known",
    "memo_for",
    "short_name",
    "to_ascii",
]
