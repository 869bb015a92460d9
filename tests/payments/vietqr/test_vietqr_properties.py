"""Properties of the VietQR codec: encode/decode round trip, and no exception but VietQRError."""

from __future__ import annotations

import random
import unicodedata
from binascii import crc_hqx

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.vietqr import DecodedQR, VietQRError, decode, encode
from payments.vietqr.banks import banks

# Vietnamese letters and the ASCII letter each must fold to, built by composing base + marks
# (the codec decomposes, so the oracle goes the other way).
_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền sắc hỏi ngã nặng
_VOWELS = {
    "a": "a",
    "a\u0306": "a",  # ă
    "a\u0302": "a",  # â
    "e": "e",
    "e\u0302": "e",  # ê
    "i": "i",
    "o": "o",
    "o\u0302": "o",  # ô
    "o\u031b": "o",  # ơ
    "u": "u",
    "u\u031b": "u",  # ư
    "y": "y",
}
FOLD = {
    unicodedata.normalize("NFC", base + tone): ascii_
    for base, ascii_ in _VOWELS.items()
    for tone in _TONES
}
FOLD |= {c.upper(): a.upper() for c, a in FOLD.items()}
FOLD |= {"đ": "d", "Đ": "D"}
FOLD |= {chr(c): chr(c) for c in range(0x20, 0x7F)}

letters = st.sampled_from(sorted(FOLD))
texts = st.lists(letters, max_size=25).map("".join)
words = st.text(alphabet=st.sampled_from(sorted(set(FOLD) - {" "})), min_size=1, max_size=12)
accounts = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    min_size=1,
    max_size=19,
)


def fold(text: str) -> str | None:
    return "".join(FOLD[c] for c in text) or None


@st.composite
def encode_args(draw: st.DrawFn) -> dict[str, object]:
    args: dict[str, object] = {
        "bank_bin": draw(st.sampled_from(sorted(banks()))),
        "account": draw(accounts),
        "amount": draw(st.none() | st.integers(1, 499_999_999)),
        "purpose": draw(texts),
        "merchant_name": draw(st.none() | texts),
        "merchant_city": draw(st.none() | st.lists(letters, max_size=15).map("".join)),
    }
    # 62 holds at most 99 characters, which the purpose and two short labels never exceed
    labels = st.sampled_from(["bill_number", "reference_label", "terminal_label"])
    for name in draw(st.sets(labels, max_size=2)):
        args[name] = draw(words)
    return args


@given(encode_args())
def test_encode_then_decode_gives_back_every_argument(args: dict[str, object]) -> None:
    payload = encode(**args)  # type: ignore[arg-type]
    decoded = decode(payload, require_vietqr=True)
    assert decoded.kind == "vietqr"
    assert (decoded.bank_bin, decoded.account) == (args["bank_bin"], args["account"])
    assert decoded.amount == args["amount"]
    assert decoded.initiation == ("static" if args["amount"] is None else "dynamic")
    assert decoded.purpose == fold(str(args["purpose"]))
    for name in ("merchant_name", "merchant_city"):
        given_text = args[name]
        want = None if given_text is None else fold(str(given_text))
        assert getattr(decoded, name) == (want and want.upper())
    for name in ("bill_number", "reference_label", "terminal_label"):
        assert getattr(decoded, name) == (fold(str(args[name])) if name in args else None)
    # encoding what was decoded gives the very same payload
    again = {k: getattr(decoded, k) for k in args if k != "bank_bin"}
    assert encode(bank_bin=decoded.bank_bin or "", **again) == payload


SEEDS = [
    encode(bank_bin="970415", account="113366668888", amount=115000, purpose="TP26ABC123 Le phi"),
    encode(
        bank_bin="970436",
        account="0071000123456",
        purpose="Lệ phí hộ tịch",
        merchant_name="Sở Tư pháp",
        merchant_city="Hà Tĩnh",
        bill_number="HD01",
        reference_label="TP26ABC123",
        terminal_label="Q1",
    ),
    # public payloads, sources in test_vietqr_codec.py
    "00020101021126280010A000000775011001087990425204597753037045802VN5909MYPHAMHER6005HANOI"
    "62260311MY PHAM HER0707MPHER0163041C50",
    "00020101021138620010A00000072701320006970454011899MM24011M348750800208QRIBFTTA53037045802VN"
    "62190515MOMOW2W3487508080030466304EBC8",
]


def with_crc(text: str) -> str:
    """Rewrite the last 4 characters as the right CRC, so mutations get past the CRC check."""
    if len(text) < 4:
        return text
    body = text[:-4].encode("utf-8", "surrogatepass")
    return text[:-4] + f"{crc_hqx(body, 0xFFFF):04X}"


def rebuilt(decoded: DecodedQR) -> str:
    return "".join(f"{tag}{len(value):02d}{value}" for tag, value in decoded.fields.items())


def check(payload: str) -> None:
    """Either the payload decodes, and is then exactly its fields, or decode says why it is not."""
    reason = ""
    try:
        decoded = decode(payload)
    except VietQRError as exc:
        reason = str(exc)
    else:
        assert rebuilt(decoded) == payload
        return
    assert reason


def mutate(rng: random.Random, payload: str, junk: str) -> str:
    i = rng.randrange(len(payload) + 1)
    op = rng.randrange(6)
    if op == 0:  # flip one character
        return payload[:i] + junk[:1] + payload[i + 1 :]
    if op == 1:  # truncate
        return payload[:i]
    if op == 2:  # insert
        return payload[:i] + junk + payload[i:]
    if op == 3:  # delete a run
        return payload[:i] + payload[i + rng.randrange(1, 9) :]
    if op == 4:  # duplicate a run (duplicate ids, wrong lengths)
        j = rng.randrange(i, len(payload) + 1)
        return payload[:j] + payload[i:j] + payload[j:]
    return payload[:i] + str(rng.randrange(100)).zfill(2) + payload[i + 2 :]  # a new id or length


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    rng=st.randoms(use_true_random=False),
    junk=st.text(min_size=1, max_size=6),
    rounds=st.integers(1, 4),
    fix_crc=st.booleans(),
)
def test_mutated_payloads_raise_only_vietqr_error(
    seed: str, rng: random.Random, junk: str, rounds: int, fix_crc: bool
) -> None:
    payload = seed
    for _ in range(rounds):
        payload = mutate(rng, payload, junk)
    check(with_crc(payload) if fix_crc else payload)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=200))  # surrogates too
def test_any_text_raises_only_vietqr_error(text: str) -> None:
    check(text)
    check(with_crc(text))
    check(with_crc("000201010212" + text + "6304"))


def test_twenty_thousand_seeded_mutations_raise_only_vietqr_error() -> None:
    rng = random.Random(20261123)
    alphabet = "0123456789ABCDEF VNđĐệ\x00\n\ud800\U0001f600"
    outcomes = {"decoded": 0, "refused": 0}
    for n in range(20_000):
        payload = SEEDS[n % len(SEEDS)]
        for _ in range(rng.randrange(1, 4)):
            junk = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 4)))
            payload = mutate(rng, payload, junk)
        payload = with_crc(payload) if n % 2 else payload
        try:
            decode(payload)
            outcomes["decoded"] += 1
        except VietQRError:
            outcomes["refused"] += 1
    # both branches were exercised: the mutations reach past the CRC into the field rules
    assert outcomes["decoded"] > 100
    assert outcomes["refused"] > 10_000


@pytest.mark.parametrize("seed", SEEDS)
def test_every_single_character_substitution_is_caught_by_the_crc(seed: str) -> None:
    # CRC-16 detects every single-character error; a "valid" result would be a codec bug
    for i in range(len(seed) - 4):
        for replacement in "0A":
            if seed[i] != replacement:
                with pytest.raises(VietQRError):
                    decode(seed[:i] + replacement + seed[i + 1 :])
