"""Payment references: format, check digits, finding them in memos, one-typo recovery."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments import reference as ref

DIGITS = "0123456789"


def sample_refs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = "".join(rng.choice(DIGITS) for _ in range(ref.BODY_DIGITS))
        out.append(ref.PREFIX + body + ref.check_digits(body))
    return out


def test_new_references_are_short_upper_case_and_valid() -> None:
    for _ in range(200):
        r = ref.new_reference()
        assert re.fullmatch(r"TPH\d{14}", r)
        assert len(r) <= 19 and ref.is_valid(r)


def test_every_single_substitution_is_detected() -> None:
    for r in sample_refs(300):
        for i in range(len(ref.PREFIX), len(r)):
            for d in DIGITS:
                if d != r[i]:
                    assert not ref.is_valid(r[:i] + d + r[i + 1 :]), (r, i, d)


def test_every_adjacent_transposition_is_detected() -> None:
    for r in sample_refs(300):
        for i in range(len(r) - 1):
            if r[i] != r[i + 1]:
                swapped = r[:i] + r[i + 1] + r[i] + r[i + 2 :]
                assert not ref.is_valid(swapped), (r, i)


@pytest.mark.parametrize(
    "memo",
    [
        "{r}",
        "{r_lower}",
        "NGUYEN VAN AN CK {r} LLTP",
        "MBVCB.123456.{spaced}.CT tu 0123",
        "IBFT {dashed} nop phi",
        "thanh toan {dotted}",
    ],
)
def test_references_are_found_in_bank_memos(memo: str) -> None:
    r = sample_refs(1)[0]
    text = memo.format(
        r=r,
        r_lower=r.lower(),
        spaced=" ".join([r[:3], r[3:9], r[9:]]),
        dashed="-".join([r[:3], r[3:7], r[7:11], r[11:]]),
        dotted=".".join(r),
    )
    assert ref.find_reference(text) == r


def test_longer_digit_runs_and_invalid_checks_are_not_references() -> None:
    r = sample_refs(1)[0]
    assert ref.find_reference(r + "5") is None
    broken = r[:-1] + ("0" if r[-1] != "0" else "1")
    assert ref.find_reference(f"CK {broken}") is None
    assert list(ref.candidates_in(f"CK {broken}")) == [broken]


def valid_neighbours(text: str) -> list[str]:
    return [
        text[:i] + d + text[i + 1 :]
        for i in range(len(ref.PREFIX), len(text))
        for d in DIGITS
        if d != text[i] and ref.is_valid(text[:i] + d + text[i + 1 :])
    ]


def test_one_wrong_digit_is_corrected_only_with_a_unique_candidate() -> None:
    target, other = sample_refs(2, seed=11)
    typo = target[:8] + ("1" if target[8] != "1" else "2") + target[9:]
    assert not ref.is_valid(typo)
    assert ref.correct_one_typo(typo, [target, other]) == target
    assert ref.correct_one_typo(typo, [other]) is None


def test_a_typo_between_two_open_references_is_not_guessed() -> None:
    # look for a typo that is one digit away from two valid references (they differ in two)
    for target in sample_refs(200, seed=3):
        for i in range(len(ref.PREFIX), len(target)):
            typo = target[:i] + ("0" if target[i] != "0" else "1") + target[i + 1 :]
            twins = [t for t in valid_neighbours(typo) if t != target]
            if twins:
                assert ref.correct_one_typo(typo, [target]) == target
                assert ref.correct_one_typo(typo, [target, twins[0]]) is None
                return
    pytest.fail("no ambiguous typo found in the sample")


@given(st.text(max_size=200))
def test_searching_any_text_never_fails(text: str) -> None:
    found = ref.find_reference(text)
    assert found is None or ref.is_valid(found)


@given(st.integers(0, 10**14 - 1))
def test_one_digit_variants_are_exactly_the_valid_references_one_substitution_away(n: int) -> None:
    candidate = f"TPH{n:014d}"
    searched = [
        variant
        for i in range(3, len(candidate))
        for digit in "0123456789"
        if (variant := candidate[:i] + digit + candidate[i + 1 :]) != candidate
        and ref.is_valid(variant)
    ]

    assert ref.one_digit_variants(candidate) == searched


# --- damaged references as real memos carry them (issue 18) ---------------------------------


def only_candidate(memo: str) -> str:
    (candidate,) = [c for c in ref.candidates_in(memo) if not ref.is_valid(c)]
    return candidate


def test_bank_digits_glued_after_the_reference_are_recovered_not_found() -> None:
    target, other = sample_refs(2, seed=21)
    memo = f"MBVCB.123.{target}9024123456.NGUYEN VAN A chuyen tien"
    assert ref.find_reference(memo) is None  # never an exact match by itself
    glued = only_candidate(memo)
    assert glued.startswith(target) and len(glued) <= 19
    assert ref.recovery_variants(glued) == [target]
    assert ref.correct_one_typo(glued, [target, other]) == target
    assert ref.correct_one_typo(glued, [other]) is None


def test_a_reference_missing_its_last_character_is_completed_only_when_unique() -> None:
    target, other = sample_refs(2, seed=22)
    cut = only_candidate(f"CT tu 0351000646393 {target[:-1]}")
    assert cut == target[:-1]
    assert ref.recovery_variants(cut) == [target]  # MOD 97: at most one last digit fits
    assert ref.correct_one_typo(cut, [target, other]) == target
    assert ref.correct_one_typo(cut, [other]) is None
    # followed by a word: the word's first letter is not taken for a digit
    assert only_candidate(f"{target[:-1]} LE PHI") == cut


@pytest.mark.parametrize(("digit", "letters"), [("0", "Oo"), ("1", "IiLl")])
def test_letters_typed_for_digits_are_read_back(digit: str, letters: str) -> None:
    target = next(r for r in sample_refs(50, seed=23) if digit in r[3:])
    for letter in letters:
        typed = target[:3] + target[3:].replace(digit, letter)
        candidate = only_candidate(f"nop le phi {typed} ho so 123")
        assert ref.recovery_variants(candidate) == [target]
        assert ref.correct_one_typo(candidate, [target]) == target


def test_two_kinds_of_damage_are_not_undone_together() -> None:
    target = next(r for r in sample_refs(50, seed=24) if "0" in r[3:-1])
    letter_and_cut = (target[:3] + target[3:].replace("0", "O"))[:-1]
    assert all(ref.recovery_variants(c) == [] for c in ref.candidates_in(letter_and_cut))
    assert ref.recovery_variants(target) == []  # a valid reference is not a candidate


@given(st.text(alphabet="TPH0123456789OIL .-x", max_size=60))
def test_recovery_never_fails_and_only_yields_valid_references(text: str) -> None:
    for candidate in ref.candidates_in(text):
        assert len(candidate) <= 19
        assert all(ref.is_valid(v) for v in ref.recovery_variants(candidate))


def test_a_damaged_reference_after_a_good_one_is_still_a_candidate() -> None:
    target, other = sample_refs(2, seed=25)
    cut, glued = other[:-1], f"{other}9024"
    assert ref.candidate_list(f"{target} va {cut} le phi") == [target, cut]
    assert ref.candidate_list(f"{cut.lower()} va {target}") == [cut, target]
    assert ref.candidate_list(f"ND {target.lower()} tp.h {glued}") == [target, glued[:19]]
    assert ref.candidate_list(f"T P H {' '.join(target[3:])} ct") == [target]
    assert list(ref.candidates_in(f"{target} {cut}")) == [target, cut]
    assert ref.candidate_list("") == ref.candidate_list(None) == []
