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


def correct_one_typo(candidate: str, open_references: Iterable[str]) -> str | None:
    """The unique open reference one substitution away from an invalid ``candidate``, if any."""
    keys = set(one_substitution_keys(candidate))
    fits = {
        ref
        for ref in open_references
        if ref != candidate and keys & set(one_substitution_keys(ref))
    }
    return fits.pop() if len(fits) == 1 else None
