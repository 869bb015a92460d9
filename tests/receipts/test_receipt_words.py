"""Amounts in Vietnamese words: a hand-checked table and structural properties."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receipts.words import MAX_AMOUNT, amount_in_words

CASES = [
    # units and zero
    (0, "Không đồng"),
    (1, "Một đồng"),
    (4, "Bốn đồng"),
    (5, "Năm đồng"),
    (7, "Bảy đồng"),
    (9, "Chín đồng"),
    # "mười" for ten, "lăm" after it, "một"/"bốn" stay plain after mười
    (10, "Mười đồng"),
    (11, "Mười một đồng"),
    (14, "Mười bốn đồng"),
    (15, "Mười lăm đồng"),
    (19, "Mười chín đồng"),
    # "mươi" for tens ≥ 20, with "mốt", "tư", "lăm"
    (20, "Hai mươi đồng"),
    (21, "Hai mươi mốt đồng"),
    (24, "Hai mươi tư đồng"),
    (25, "Hai mươi lăm đồng"),
    (31, "Ba mươi mốt đồng"),
    (44, "Bốn mươi tư đồng"),
    (55, "Năm mươi lăm đồng"),
    (90, "Chín mươi đồng"),
    (99, "Chín mươi chín đồng"),
    # hundreds and "linh" for an empty tens place
    (100, "Một trăm đồng"),
    (101, "Một trăm linh một đồng"),
    (104, "Một trăm linh bốn đồng"),
    (105, "Một trăm linh năm đồng"),
    (110, "Một trăm mười đồng"),
    (111, "Một trăm mười một đồng"),
    (115, "Một trăm mười lăm đồng"),
    (121, "Một trăm hai mươi mốt đồng"),
    (205, "Hai trăm linh năm đồng"),
    (999, "Chín trăm chín mươi chín đồng"),
    # thousands: inner groups keep "không trăm" and "linh"
    (1_000, "Một nghìn đồng"),
    (1_005, "Một nghìn không trăm linh năm đồng"),
    (1_010, "Một nghìn không trăm mười đồng"),
    (1_015, "Một nghìn không trăm mười lăm đồng"),
    (1_021, "Một nghìn không trăm hai mươi mốt đồng"),
    (1_100, "Một nghìn một trăm đồng"),
    (2_500, "Hai nghìn năm trăm đồng"),
    (10_000, "Mười nghìn đồng"),
    (15_000, "Mười lăm nghìn đồng"),
    (21_000, "Hai mươi mốt nghìn đồng"),
    (25_000, "Hai mươi lăm nghìn đồng"),
    (50_000, "Năm mươi nghìn đồng"),
    (105_000, "Một trăm linh năm nghìn đồng"),
    (115_000, "Một trăm mười lăm nghìn đồng"),
    (200_000, "Hai trăm nghìn đồng"),
    (234_567, "Hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy đồng"),
    # millions: all-zero groups skipped, inner groups read in full
    (1_000_000, "Một triệu đồng"),
    (1_000_005, "Một triệu không trăm linh năm đồng"),
    (1_050_000, "Một triệu không trăm năm mươi nghìn đồng"),
    (1_500_000, "Một triệu năm trăm nghìn đồng"),
    (2_000_500, "Hai triệu năm trăm đồng"),
    (10_500_000, "Mười triệu năm trăm nghìn đồng"),
    (
        12_345_678,
        "Mười hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám đồng",
    ),
    (
        499_999_999,
        "Bốn trăm chín mươi chín triệu chín trăm chín mươi chín nghìn "
        "chín trăm chín mươi chín đồng",
    ),
    # tỷ
    (1_000_000_000, "Một tỷ đồng"),
    (1_005_000_000, "Một tỷ không trăm linh năm triệu đồng"),
    (1_000_000_001, "Một tỷ không trăm linh một đồng"),
    (1_000_021_000, "Một tỷ không trăm hai mươi mốt nghìn đồng"),
    (25_000_000_000, "Hai mươi lăm tỷ đồng"),
    (
        MAX_AMOUNT,
        "Chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu "
        "chín trăm chín mươi chín nghìn chín trăm chín mươi chín đồng",
    ),
]

VOCABULARY = {
    "không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
    "mười", "mươi", "trăm", "linh", "mốt", "tư", "lăm", "nghìn", "triệu", "tỷ", "đồng",
}  # fmt: skip

VALUES = {
    "không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
    "sáu": 6, "bảy": 7, "tám": 8, "chín": 9,
}  # fmt: skip
SCALE_VALUES = {"nghìn": 1_000, "triệu": 1_000_000, "tỷ": 1_000_000_000}

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)


def parse_words(text: str) -> int:
    """An independent reader of the words back to a number, to check the writer round-trips."""
    total = group = digit = 0
    for word in text.lower().split()[:-1]:  # drop "đồng"
        if word in VALUES:
            digit = VALUES[word]
        elif word == "trăm":
            group, digit = group + digit * 100, 0
        elif word == "mươi":
            group, digit = group + digit * 10, 0
        elif word == "mười":
            group += 10
        elif word in SCALE_VALUES:
            total, group, digit = total + (group + digit) * SCALE_VALUES[word], 0, 0
    return total + group + digit


@pytest.mark.parametrize(("amount", "words"), CASES)
def test_amount_is_written_as_on_a_vietnamese_invoice(amount: int, words: str) -> None:
    assert amount_in_words(amount) == words


def test_the_table_covers_at_least_forty_hand_checked_amounts() -> None:
    assert len({amount for amount, _ in CASES}) >= 40


@pytest.mark.parametrize("amount", [-1, -115_000, MAX_AMOUNT + 1, 10**15])
def test_amounts_outside_the_printable_range_are_rejected(amount: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        amount_in_words(amount)


@pytest.mark.parametrize("amount", [True, 1.0, "115000"])
def test_non_integers_are_rejected(amount: object) -> None:
    with pytest.raises(TypeError):
        amount_in_words(amount)  # type: ignore[arg-type]


@given(amounts)
def test_words_read_back_to_the_same_amount(amount: int) -> None:
    assert parse_words(amount_in_words(amount)) == amount


@given(amounts)
def test_words_are_well_formed(amount: int) -> None:
    text = amount_in_words(amount)
    words = text.split(" ")
    assert text == text.strip()
    assert "" not in words  # no double spaces
    assert text[0].isupper()
    assert text[1:] == text[1:].lower()
    assert words[-1] == "đồng"
    assert words.count("đồng") == 1
    assert set(text.lower().split()) <= VOCABULARY


@given(amounts)
def test_euphonic_forms_appear_only_where_the_rules_allow(amount: int) -> None:
    words = amount_in_words(amount).lower().split()
    for before, word in itertools.pairwise(words):
        assert (before, word) not in {("mươi", "một"), ("mươi", "bốn"), ("mươi", "năm")}
        assert (before, word) not in {("mười", "năm"), ("mười", "mốt"), ("mười", "tư")}
        if word in {"mốt", "tư"}:
            assert before == "mươi"
        if word == "lăm":
            assert before in {"mươi", "mười"}
        if word == "linh":
            assert before == "trăm"
    assert not re.search(r"linh (lăm|mốt|tư)\b", " ".join(words))


@given(amounts)
def test_each_scale_word_appears_at_most_once_and_in_order(amount: int) -> None:
    words = amount_in_words(amount).split()
    scales = [word for word in words if word in SCALE_VALUES]
    assert scales == sorted(set(scales), key=lambda s: -SCALE_VALUES[s])


@given(st.integers(min_value=1, max_value=999), st.sampled_from(list(SCALE_VALUES.values())))
def test_round_multiples_of_a_scale_need_no_zero_groups(leading: int, scale: int) -> None:
    assert "không" not in amount_in_words(leading * scale).lower().split()
