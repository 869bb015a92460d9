"""The Vietnamese words a receipt's XML and print carry, in one place (English codes inside).

Where the law or the form names a value in words, the XML carries the words, not our codes:

==================  ==================  ==================================================
our code            in the XML          why
==================  ==================  ==================================================
kind ``phi``        ``Phí``             Luật Phí và lệ phí 97/2015/QH13: the two kinds of
kind ``le_phi``     ``Lệ phí``          charge, named on the receipt (NĐ 254/2026 Điều 23)
``bank_transfer``   ``Chuyển khoản``    payment method as TT 78/2021 e-invoices write it
``vietqr``          ``Chuyển khoản      (HTTToan: "Tiền mặt", "Chuyển khoản", …)
                    (VietQR)``
``paygov``          ``Nền tảng thanh    the national portal's payment platform
                    toán Cổng Dịch vụ
                    công quốc gia``
``pos``             ``Thẻ ngân hàng     a card at the counter's terminal
                    (POS)``
``cash``            ``Tiền mặt``
==================  ==================  ==================================================

Every word maps back to one code; reading an XML back maps the words to the codes and refuses
an unknown kind. The tax authority has not published an XML schema for biên lai (LAW.md): when
it does, only this table changes.
"""

from __future__ import annotations

from receipts.document import ReceiptKind

KIND_WORDS = {ReceiptKind.PHI: "Phí", ReceiptKind.LE_PHI: "Lệ phí"}
CHANNEL_WORDS = {
    "vietqr": "Chuyển khoản (VietQR)",
    "bank_transfer": "Chuyển khoản",
    "paygov": "Nền tảng thanh toán Cổng Dịch vụ công quốc gia",
    "pos": "Thẻ ngân hàng (POS)",
    "cash": "Tiền mặt",
}
# reading back: each word names one code
_KIND_CODES = {word: kind for kind, word in KIND_WORDS.items()}
_CHANNEL_CODES = {word: code for code, word in CHANNEL_WORDS.items()}


def kind_word(kind: ReceiptKind | str) -> str:
    return KIND_WORDS[ReceiptKind(kind)]


def kind_from_word(word: str) -> ReceiptKind:
    try:
        return _KIND_CODES[word]
    except KeyError:
        raise ValueError(f"unknown receipt kind {word!r}") from None


def channel_word(channel: str) -> str:
    """The payment method in words; a code this table lacks is written as it is."""
    return CHANNEL_WORDS.get(channel, channel)


def channel_from_word(word: str) -> str:
    return _CHANNEL_CODES.get(word, word)


# Mẫu 01/TH-BLĐT (TT 91/2026 Phụ lục III), column "trạng thái"
SUMMARY_STATUS_WORDS = {
    "new": "Mới",
    "information_corrected": "Điều chỉnh thông tin",
    "replaced": "Thay thế",
    # TT 91/2026 Điều 20 corrects a biên lai by notice or replacement only (no adjustment);
    # the form's column (11) still names "điều chỉnh", for receipts made under the old rules
    "adjusted": "Điều chỉnh",
}
