"""Payment references: ``TPH`` + 12 random digits + 2 check digits (ISO 7064 MOD 97-10).

The reference travels in the bank transfer memo. Digits survive bank apps best; the letter prefix
anchors the search in free text. MOD 97-10 over the digits detects every single-digit substitution
and every adjacent transposition (97 is prime and larger than any weighted difference), which
``tests/payments/test_reference.py`` checks exhaustively.

Recovering a damaged reference
------------------------------
:func:`candidates_in` also yields the reference-shaped strings that memos really carry:

* one wrong digit (``TPH`` + 14 digits that fail the check);
* bank digits glued straight after the reference (``TPH…24`` + ``9123456``): ``TPH`` + up to 16
  digits, of which the first 14 are the reference;
* the last character cut off by the bank (``TPH`` + 13 digits);
* a letter typed for a digit: ``O`` for ``0``, ``I`` or ``L`` for ``1`` (kept as typed).

None of these is ever a reference by itself: :func:`recovery_variants` lists the valid references
each may stand for, and a caller accepts one only when it is the single open candidate whose
remaining amount is exactly the amount received (:func:`correct_one_typo`), and flags the
payment ``reference_corrected``.
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


# a loose run after the prefix: digits and the letters typed for them, separators between
_LOOSE = re.compile(
    _SEP.join(PREFIX) + r"((?:" + _SEP + r"[0-9OIL])+)",
    re.IGNORECASE,
)
_CONFUSABLE = str.maketrans("OIL", "011")
MAX_CANDIDATE = 19  # the stored candidate column's width


def candidates_in(text: str) -> Iterator[str]:
    """Every reference-shaped string in free text, normalised, valid or not (in order).

    A well-formed ``TPH`` + 14 digits comes as found; the damaged shapes of the module docstring
    come upper-cased without separators (glued digits cut at 19 characters).
    """
    return iter(candidate_list(text))


def candidate_list(text: str | None) -> list[str]:
    """:func:`candidates_in` as a list (a statement asks it once a line)."""
    if not text:
        return []
    runs = _FIND.findall(text)  # the digit runs only: no match object per memo
    # a loose run starts at a T too: when every T starts a reference already, there is none
    if text.count("T") + text.count("t") <= len(runs):
        return [PREFIX + _digits(run) for run in runs]
    return _with_damaged(text)


def _with_damaged(text: str) -> list[str]:
    """:func:`candidate_list` of a memo with a ``T`` no well-formed reference starts."""
    exact = [(m.start(), PREFIX + _digits(m.group(1))) for m in _FIND.finditer(text)]
    taken = {start for start, _ in exact}
    loose = [
        (m.start(), shape)
        for m in _LOOSE.finditer(text)
        if m.start() not in taken
        and (shape := _damaged_shape(m.group(1), text[m.end() : m.end() + 1].isalpha()))
    ]
    if loose:  # both lists are in text order: merged only when both have some
        return [candidate for _, candidate in sorted(exact + loose)]
    return [candidate for _, candidate in exact]


_NON_DIGITS = re.compile(r"\D")


def _digits(run: str) -> str:
    return run if run.isdigit() else _NON_DIGITS.sub("", run)  # most memos: no separators


def _damaged_shape(run: str, word_follows: bool) -> str | None:
    if word_follows:  # "…634 LE PHI": the L opens a word, it is not a digit
        run = re.sub(r"[OIL]+$", "", run, flags=re.IGNORECASE)
    body = re.sub(r"[^0-9OIL]", "", run.upper())
    digits = body.translate(_CONFUSABLE)
    width = BODY_DIGITS + 2
    if body != digits:  # letters for digits: only a full-length run
        return PREFIX + body if len(body) == width else None
    if len(body) == width - 1 or len(body) > width:
        return (PREFIX + body)[:MAX_CANDIDATE]
    return None


def recovery_variants(candidate: str) -> list[str]:
    """The valid references a damaged ``candidate`` (from :func:`candidates_in`) may stand for.

    One wrong digit: :func:`one_digit_variants`. Letters for digits: the reference read with
    ``O``→``0`` and ``I``/``L``→``1``, if valid. One character missing at the end: the single
    last digit that makes it valid, if any. Digits glued after it: its first 14 digits, if valid.
    A valid reference needs no recovery: ``[]``. Only one kind of damage is undone, never two.
    """
    cand = candidate.upper()
    if not cand.startswith(PREFIX):
        return []
    body = cand[len(PREFIX) :]
    width = BODY_DIGITS + 2
    if not body.isdigit():
        fixed = PREFIX + body.translate(_CONFUSABLE)
        return [fixed] if len(body) == width and is_valid(fixed) else []
    if len(body) == width:
        return one_digit_variants(cand)
    if len(body) == width - 1:
        missing = (1 - int(body) * 10) % 97
        return [f"{cand}{missing}"] if missing <= 9 else []
    if len(body) > width and is_valid(cand[:LENGTH]):
        return [cand[:LENGTH]]
    return []


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
    """The unique open reference a damaged ``candidate`` may stand for (see
    :func:`recovery_variants`), if exactly one of ``open_references`` fits; the caller passes
    only the open references whose remaining amount is exactly the amount received."""
    variants = set(recovery_variants(candidate))
    fits = {ref for ref in open_references if ref in variants}
    return fits.pop() if len(fits) == 1 else None
