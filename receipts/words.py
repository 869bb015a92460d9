"""Amounts in Vietnamese words, as printed on invoices and receipts (số tiền bằng chữ).

``amount_in_words(115_000) == "Một trăm mười lăm nghìn đồng"``. The number is read in groups of
three digits (nghìn, triệu, tỷ). An all-zero group is skipped; a group below a non-empty higher
group is read in full ("không trăm", "linh"), the convention of Vietnamese e-invoices:
1_000_005 → "Một triệu không trăm linh năm đồng".
"""

from __future__ import annotations

MAX_AMOUNT = 999_999_999_999

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
SCALES = ("", "nghìn", "triệu", "tỷ")
CURRENCY_WORD = "đồng"


def amount_in_words(n: int) -> str:
    """``n`` đồng in Vietnamese words, capitalised, ending with "đồng"; 0 ≤ n ≤ 999,999,999,999."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"amount_in_words needs an int, got {type(n).__name__}")
    if not 0 <= n <= MAX_AMOUNT:
        raise ValueError(f"amount out of range 0..{MAX_AMOUNT}: {n}")
    words = _number_words(n) if n else [DIGITS[0]]
    sentence = " ".join([*words, CURRENCY_WORD])
    return sentence[0].upper() + sentence[1:]


def _number_words(n: int) -> list[str]:
    groups = _groups(n)
    words: list[str] = []
    for position, group in enumerate(groups):
        if group == 0:
            continue
        # the leading group is read short ("năm", not "không trăm linh năm")
        words += _group_words(group, full=position > 0)
        scale = SCALES[len(groups) - 1 - position]
        if scale:
            words.append(scale)
    return words


def _groups(n: int) -> list[int]:
    """Three-digit groups, most significant first: 1_234_567 → [1, 234, 567]."""
    groups: list[int] = []
    while True:
        n, group = divmod(n, 1000)
        groups.insert(0, group)
        if n == 0:
            return groups


def _group_words(group: int, *, full: bool) -> list[str]:
    hundreds, rest = divmod(group, 100)
    tens, units = divmod(rest, 10)
    if not full and hundreds == 0:
        return _tens_words(tens, units)
    words = [DIGITS[hundreds], "trăm"]
    if tens == 0 and units:
        # "linh" marks the empty tens place: 105 is "một trăm linh năm"
        return [*words, "linh", DIGITS[units]]
    return words + _tens_words(tens, units)


def _tens_words(tens: int, units: int) -> list[str]:
    if tens == 0:
        return [DIGITS[units]] if units else []
    head = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 0:
        return head
    return [*head, _unit_after_tens(tens, units)]


def _unit_after_tens(tens: int, units: int) -> str:
    # euphonic forms: 15 "mười lăm", 21 "hai mươi mốt", 24 "hai mươi tư";
    # but 11 "mười một", 14 "mười bốn"
    if units == 5:
        return "lăm"
    if tens >= 2 and units == 1:
        return "mốt"
    if tens >= 2 and units == 4:
        return "tư"
    return DIGITS[units]
