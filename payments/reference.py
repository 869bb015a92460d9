"""Payment references: ``TPH`` + 12 random digits + 2 check digits (ISO 7064 MOD 97-10).

The reference travels in the bank transfer memo. Digits survive bank apps best; the letter prefix
anchors the search in free text. MOD 97-10 over the digits detects every single-digit substitution
and every adjacent transposition (97 is prime and larger than any weighted difference), which
``tests/payments/test_reference.py`` checks exhaustively.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator

PREFIX = "TPH"
BODY_DIGITS = 12
LENGTH = len(PREFIX) + BODY_DIGITS + 2  # 17 ≤ 19

_SEP = r"[\s.\-_]*"
# the prefix and each digit may be separated by spaces, dots, dashes that bank apps insert
_FIND = re.compile(
    _SEP.join(PREFIX) + "((?:" + _SEP + r"\d){" + str(BODY_DIGITS + 2) + r"})(?!\d)",
    re.IGNORECASE,
)


def check_digits(body: str) -> str:
    """Two check digits making ``body + check`` ≡ 1 (mod 97), as in ISO 7064 MOD 97-10."""
    return f"{98 - (int(body) * 100) % 97:02d}"


def is_valid(reference: str) -> bool:
    ref = reference.upper()
    if len(ref) != LENGTH or not ref.startswith(PREFIX) or not ref[len(PREFIX) :].isdigit():
        return False
    return int(ref[len(PREFIX) :]) % 97 == 1


def new_reference() -> str:
    body = f"{secrets.randbelow(10**BODY_DIGITS):0{BODY_DIGITS}d}"
    return PREFIX + body + check_digits(body)


def candidates_in(text: str) -> Iterator[str]:
    """Every reference-shaped string in free text, normalised, valid or not (in order)."""
    for match in _FIND.finditer(text or ""):
        yield PREFIX + re.sub(r"\D", "", match.group(1))


def find_reference(text: str) -> str | None:
    """The first valid reference in a memo, or None."""
    return next((c for c in candidates_in(text) if is_valid(c)), None)


def one_substitution_keys(reference: str) -> list[str]:
    """Keys under which two same-length references differing in exactly one digit meet.

    Each key blanks one digit position; a reference and a one-typo variant of it share exactly
    one key. Indexing open references by these keys makes typo recovery a set-based join.
    """
    digits = reference[len(PREFIX) :]
    return [f"{i}:{digits[:i]}*{digits[i + 1 :]}" for i in range(len(digits))]


# MOD 97 weight of each of the 14 digits (body and check) and its inverse modulo 97
_WEIGHTS = [pow(10, BODY_DIGITS + 1 - i, 97) for i in range(BODY_DIGITS + 2)]
_INVERSES = [pow(w, -1, 97) for w in _WEIGHTS]


def one_digit_variants(candidate: str) -> list[str]:
    """The valid references one digit away from ``candidate``, in digit-position order.

    Arithmetic, not a search: changing digit i by δ moves the number by δ·10^(13−i), so at each
    position exactly one δ ≡ (1 − n)·10^−(13−i) (mod 97) can make it valid, and it counts only
    if the new digit is a digit (|δ| ≤ 9 < 97, so there is never a second one).
    """
    digits = candidate[len(PREFIX) :]
    if len(candidate) != LENGTH or not candidate.startswith(PREFIX) or not digits.isdigit():
        return []
    gap = (1 - int(digits)) % 97
    out = []
    for i, inverse in enumerate(_INVERSES):
        delta = gap * inverse % 97
        delta = delta - 97 if delta > 9 else delta
        new = int(digits[i]) + delta
        if delta and 0 <= new <= 9:
            out.append(f"{PREFIX}{digits[:i]}{new}{digits[i + 1 :]}")
    return out


def correct_one_typo(candidate: str, open_references: Iterable[str]) -> str | None:
    """The unique open reference one substitution away from an invalid ``candidate``, if any."""
    keys = set(one_substitution_keys(candidate))
    fits = {
        ref
        for ref in open_references
        if ref != candidate and keys & set(one_substitution_keys(ref))
    }
    return fits.pop() if len(fits) == 1 else None
