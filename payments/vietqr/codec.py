"""VietQR payloads: NAPAS bank-transfer QR on EMVCo merchant-presented QR (DESIGN §2 "VietQR").

Standard library only, so a provider adapter or a script can use it without the app.

``decode`` checks structure for every EMV merchant-presented payload (TLV, CRC, mandatory root
fields, no control characters, VND and Vietnam) and, for NAPAS VietQR payloads (field 38 with
GUID ``A000000727``), the beneficiary template and service code. Other payloads such as VNPAY-QR
decode as ``kind="other"`` with only the common fields filled in. A structural error raises
:class:`VietQRError`, and nothing else does.

Decoding is lenient where real banks are not strict (support staff read what a citizen brings):
a merchant name with Vietnamese letters in field 59 and purposes of 28 or 45 characters in 62.08
(Vietcombank, BIDV) decode, and each deviation from the NAPAS/EMVCo rules (non-ASCII outside field
64, a field over its EMVCo length cap) is listed in ``DecodedQR.warnings``. ``encode`` stays strict.
"""

from __future__ import annotations

import unicodedata
from binascii import crc_hqx
from dataclasses import dataclass, field
from typing import Literal, NoReturn

from payments.vietqr.banks import is_known

__all__ = [
    "MAX_AMOUNT",
    "NAPAS_GUID",
    "SERVICE_CODES",
    "DecodedQR",
    "VietQRError",
    "decode",
    "encode",
    "memo_for",
    "to_ascii",
]

NAPAS_GUID = "A000000727"
SERVICE_CODES = frozenset({"QRIBFTTA", "QRIBFTTC"})  # to account, to card
MAX_AMOUNT = 500_000_000  # NAPAS 24/7 per-transfer ceiling: amounts must stay below it
_INITIATION: dict[str, Literal["static", "dynamic"]] = {"11": "static", "12": "dynamic"}
_EMV_CAPS = {"59": 25, "60": 15}  # EMVCo: merchant name ..25, city ..15
_ADDITIONAL_CAP = 25  # EMVCo: 62.01-62.08 each ..25
_ADDITIONAL_IDS = frozenset({"01", "02", "03", "04", "05", "06", "07", "08"})
_TWO_DIGITS = {f"{i:02d}": i for i in range(100)}
_WHERE = {tag: f"field {tag} template" for tag in _TWO_DIGITS}
_WHERE_BENEFICIARY = "field 38.01 template"
_HEX = frozenset("0123456789abcdefABCDEF")
# Merchant account information templates (EMVCo 26-51); 02-25 are card-scheme primitives
_TEMPLATE_IDS = tuple(f"{i:02d}" for i in range(26, 52))
_ACCOUNT_IDS = frozenset(f"{i:02d}" for i in range(2, 52))
# đ/Đ are letters of their own, not d + a combining mark, so NFD leaves them alone
_STROKE_D = str.maketrans({"đ": "d", "Đ": "D"})


class VietQRError(ValueError):
    """A payload, or an argument for one, breaks the VietQR / EMVCo rules; the message says how."""


@dataclass(frozen=True, slots=True)
class DecodedQR:
    """A decoded payload.

    ``kind`` is ``"vietqr"`` for NAPAS VietQR (field 38, GUID A000000727) and ``"other"`` for other
    EMV merchant-presented QRs (VNPAY-QR, wallets...), whose bank fields are then ``None``.
    ``initiation`` is ``"static"`` (01=11), ``"dynamic"`` (01=12) or ``None`` when field 01 is
    absent (allowed for ``"other"`` only); other codes are rejected. ``guid`` is the GUID of the
    first merchant account template (26-51). ``fields`` holds every root field's raw value by id,
    ``additional_data`` every sub-field of 62.
    """

    kind: Literal["vietqr", "other"]
    initiation: Literal["static", "dynamic"] | None
    guid: str | None
    bank_bin: str | None
    account: str | None
    service_code: str | None
    amount: int | None
    currency: str
    country: str
    mcc: str | None
    merchant_name: str | None
    merchant_city: str | None
    bill_number: str | None
    reference_label: str | None
    terminal_label: str | None
    purpose: str | None
    crc: str
    fields: dict[str, str] = field(hash=False)
    additional_data: dict[str, str] = field(hash=False)
    warnings: tuple[str, ...] = ()  # rule deviations a lenient read let through


def _tlv(where: str, s: str, start: int, end: int) -> dict[str, str]:
    """Split ``s[start:end]`` into id -> value; ``where`` names the template in errors."""
    out: dict[str, str] = {}
    two = _TWO_DIGITS  # id and length lookups double as the "two ASCII digits" check
    i = start
    while i < end:
        n = two.get(s[i + 2 : i + 4])
        tag = s[i : i + 2]
        j = i + 4 + (n or 0)
        if not n or j > end or tag not in two or tag in out:
            _tlv_error(where, s, i, end, out)
        out[tag] = s[i + 4 : j]
        i = j
    return out


def _tlv_error(where: str, s: str, i: int, end: int, seen: dict[str, str]) -> NoReturn:
    head = s[i : min(i + 4, end)]
    if len(head) < 4:
        raise VietQRError(f"{where}: truncated TLV at position {i}: {head!r}")
    if not (head.isascii() and head.isdigit()):
        raise VietQRError(f"{where}: id and length must be 4 digits at position {i}: {head!r}")
    tag, n = head[:2], int(head[2:])
    if n == 0:
        raise VietQRError(f"{where}: field {tag} has length 00")
    if tag in seen:
        raise VietQRError(f"{where}: duplicate field {tag}")
    raise VietQRError(
        f"{where}: field {tag} declares length {n} but only {end - i - 4} characters "
        f"remain (truncated?)"
    )


def _nested(tag: str, value: str) -> dict[str, str]:
    return _tlv(_WHERE[tag], value, 0, len(value))


def _check_text(payload: str, fields: dict[str, str]) -> list[str]:
    """No field holds a control character (an error); a field other than 64 (alternate
    language) with non-ASCII text breaks the rules but is read: one warning per field."""
    if payload.isascii() and payload.isprintable():
        return []
    warnings = []
    for tag, value in fields.items():
        if not value.isprintable():
            bad = next(c for c in value if not c.isprintable())
            raise VietQRError(f"field {tag}: control character {bad!r} (only printable text)")
        if tag != "64" and not value.isascii():
            bad = next(c for c in value if not c.isascii())
            warnings.append(
                f"field {tag}: non-ASCII character {bad!r} (NAPAS allows only printable ASCII)"
            )
    return warnings


def _check_crc(payload: str, fields: dict[str, str]) -> str:
    crc = fields.get("63")
    if crc is None:
        raise VietQRError("missing mandatory field 63 (CRC)")
    if next(reversed(fields)) != "63" or len(crc) != 4:
        raise VietQRError("field 63 (CRC) must be the last field and 4 characters long")
    if not _HEX.issuperset(crc):
        raise VietQRError(f"field 63: CRC {crc!r} is not 4 hexadecimal digits")
    # field 64 may hold UTF-8 text; every other field is ASCII by now
    expected = f"{crc_hqx(payload[:-4].encode(), 0xFFFF):04X}"
    if crc.upper() != expected:
        raise VietQRError(f"bad CRC: payload says {crc}, content gives {expected}")
    return expected


def _amount(value: str) -> int:
    if len(value) > 13:
        raise VietQRError(f"field 54: amount {value!r} is longer than 13 characters")
    if not (value.isdigit() and value.isascii()):
        raise VietQRError(
            f"field 54: amount {value!r} must be whole đồng in digits only "
            f"(no sign, separator or decimals)"
        )
    if value[0] == "0":
        raise VietQRError(f"field 54: amount {value!r} is zero or has a leading zero")
    return int(value)


def _root(fields: dict[str, str], payload: str) -> None:
    if not payload.startswith("00"):
        if "00" in fields:
            raise VietQRError("field 00 (payload format indicator) must be the first field")
        raise VietQRError("missing mandatory field 00 (payload format indicator)")
    if fields["00"] != "01":
        raise VietQRError(f"field 00: payload format indicator must be '01', got {fields['00']!r}")
    for tag, want, name in (("53", "704", "currency"), ("58", "VN", "country")):
        got = fields.get(tag)
        if got is None:
            raise VietQRError(f"missing mandatory field {tag} ({name})")
        if got != want:
            raise VietQRError(f"field {tag}: {name} must be {want!r}, got {got!r}")
    mcc = fields.get("52")
    if mcc is not None and not (len(mcc) == 4 and mcc.isdigit() and mcc.isascii()):
        raise VietQRError(f"field 52: merchant category code {mcc!r} is not 4 digits")


def _initiation(fields: dict[str, str], vietqr: bool) -> Literal["static", "dynamic"] | None:
    code = fields.get("01")
    if code is None:
        if vietqr:
            raise VietQRError("missing mandatory field 01 (point of initiation)")
        return None
    initiation = _INITIATION.get(code)
    if initiation is None:
        raise VietQRError(f"field 01: point of initiation must be 11 or 12, got {code!r}")
    return initiation


def _napas_account(template: dict[str, str]) -> tuple[str, str, str]:
    """(BIN, account, service code) from a field 38 template whose GUID is NAPAS's."""
    beneficiary = template.get("01")
    if beneficiary is None:
        raise VietQRError("field 38 template: missing 01 (beneficiary organisation)")
    sub = _tlv(_WHERE_BENEFICIARY, beneficiary, 0, len(beneficiary))
    bin_ = sub.get("00")
    account = sub.get("01")
    if bin_ is None or account is None:
        raise VietQRError("field 38.01 template: missing 00 (bank BIN) or 01 (account)")
    if not (len(bin_) == 6 and bin_.isdigit() and bin_.isascii()):
        raise VietQRError(f"field 38.01.00: bank BIN {bin_!r} is not 6 digits")
    if len(account) > 19 or not (account.isalnum() and account.isascii()):
        raise VietQRError(f"field 38.01.01: account {account!r} is not 1-19 letters or digits")
    service = template.get("02")
    if service is None:
        raise VietQRError("field 38 template: missing 02 (service code)")
    if service not in SERVICE_CODES:
        raise VietQRError(f"field 38.02: unknown service code {service!r}")
    return bin_, account, service


def _caps(fields: dict[str, str], extra: dict[str, str]) -> list[str]:
    """A warning for each field over its EMVCo length cap (banks print longer ones)."""
    warnings = [
        f"field {tag}: {len(value)} characters, at most {cap} allowed"
        for tag, cap in _EMV_CAPS.items()
        if (value := fields.get(tag)) is not None and len(value) > cap
    ]
    # a sub-field can only be over its cap if the whole template is longer than cap + header
    if len(fields.get("62", "")) <= _ADDITIONAL_CAP + 4:
        return warnings
    return warnings + [
        f"field 62.{tag}: {len(value)} characters, at most {_ADDITIONAL_CAP} allowed"
        for tag, value in extra.items()
        if tag in _ADDITIONAL_IDS and len(value) > _ADDITIONAL_CAP
    ]


def _other_guid(fields: dict[str, str]) -> str | None:
    if _ACCOUNT_IDS.isdisjoint(fields):
        raise VietQRError("missing merchant account information (one of fields 02-51)")
    for tag in _TEMPLATE_IDS:
        if tag in fields:
            return _nested(tag, fields[tag]).get("00")
    return None


def decode(payload: str, *, require_vietqr: bool = False) -> DecodedQR:
    """Parse and validate an EMV merchant-presented payload (NAPAS VietQR or another kind).

    With ``require_vietqr=True`` a payload that is not NAPAS VietQR (no field 38, or 38 with another
    GUID) is an error rather than ``kind="other"``.
    """
    if not isinstance(payload, str):
        raise VietQRError(f"payload must be a string, got {type(payload).__name__}")
    fields = _tlv("payload", payload, 0, len(payload))
    warnings = _check_text(payload, fields)
    crc = _check_crc(payload, fields)
    _root(fields, payload)
    extra = _nested("62", fields["62"]) if "62" in fields else {}
    if "64" in fields:
        _nested("64", fields["64"])
    template = _nested("38", fields["38"]) if "38" in fields else None
    vietqr = template is not None and template.get("00") == NAPAS_GUID
    bank_bin = account = service = guid = None
    if template is not None and vietqr:
        bank_bin, account, service = _napas_account(template)
        guid = NAPAS_GUID
        warnings += _caps(fields, extra)
    elif require_vietqr:
        if template is None:
            raise VietQRError("missing mandatory field 38 (NAPAS VietQR merchant account)")
        raise VietQRError(
            f"field 38: GUID {template.get('00')!r} is not NAPAS VietQR's {NAPAS_GUID!r}"
        )
    else:
        guid = _other_guid(fields)
    amount = fields.get("54")
    # positional: building the result is a fifth of decode, and keywords add a third to that
    return DecodedQR(
        "vietqr" if vietqr else "other",
        _initiation(fields, vietqr),
        guid,
        bank_bin,
        account,
        service,
        None if amount is None else _amount(amount),
        fields["53"],
        fields["58"],
        fields.get("52"),
        fields.get("59"),
        fields.get("60"),
        extra.get("01"),
        extra.get("05"),
        extra.get("07"),
        extra.get("08"),
        crc,
        fields,
        extra,
        tuple(warnings),
    )


def to_ascii(text: str) -> str:
    """Vietnamese text as ASCII: đ→d, Đ→D, tone and vowel marks dropped ("Hộ tịch" → "Ho tich").

    Raises :class:`VietQRError` for characters with no ASCII letter inside (e.g. "€", "\\n").
    """
    if not text.isascii():
        decomposed = unicodedata.normalize("NFD", text.translate(_STROKE_D))
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    if text.isascii() and text.isprintable():
        return text
    bad = next(c for c in text if not (c.isascii() and c.isprintable()))
    raise VietQRError(f"character {bad!r} has no printable ASCII form")


def _text(name: str, value: str | None, cap: int, *, upper: bool = False) -> str | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise VietQRError(f"{name}: must be a string, got {type(value).__name__}")
    try:
        folded = to_ascii(value)
    except VietQRError as exc:
        raise VietQRError(f"{name}: {exc}") from None
    if len(folded) > cap:
        raise VietQRError(f"{name}: {len(folded)} characters after removing diacritics, max {cap}")
    return folded.upper() if upper else folded


def _f(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _beneficiary(bank_bin: str, account: str, service_code: str) -> str:
    if not isinstance(bank_bin, str) or not is_known(bank_bin):
        raise VietQRError(f"bank_bin: {bank_bin!r} is not a known NAPAS bank BIN")
    if not isinstance(account, str) or not 0 < len(account) <= 19:
        raise VietQRError(f"account: {account!r} must be 1-19 characters")
    if not (account.isalnum() and account.isascii()):
        raise VietQRError(f"account: {account!r} must be ASCII letters and digits only")
    if not isinstance(service_code, str) or service_code not in SERVICE_CODES:
        raise VietQRError(f"service_code: {service_code!r} is not one of {sorted(SERVICE_CODES)}")
    if service_code == "QRIBFTTC" and not account.isdigit():
        raise VietQRError(f"account: card number {account!r} must be digits only")
    inner = f"0006{bank_bin}{_f('01', account)}"
    return _f("38", f"0010{NAPAS_GUID}{_f('01', inner)}0208{service_code}")


def encode(
    *,
    bank_bin: str,
    account: str,
    amount: int | None = None,
    purpose: str | None = None,
    service_code: str = "QRIBFTTA",
    merchant_name: str | None = None,
    merchant_city: str | None = None,
    bill_number: str | None = None,
    reference_label: str | None = None,
    terminal_label: str | None = None,
) -> str:
    """Build a NAPAS VietQR payload: static (01=11) without ``amount``, dynamic (01=12) with it.

    Text is folded to ASCII (:func:`to_ascii`); names and cities are upper-cased. Empty text means
    "leave the field out". Anything out of bounds raises :class:`VietQRError`; nothing is truncated
    (see :func:`memo_for` for a purpose that fits).
    """
    parts = ["000201", "010211" if amount is None else "010212"]
    parts.append(_beneficiary(bank_bin, account, service_code))
    parts.append("5303704")
    if amount is not None:
        if type(amount) is not int:
            raise VietQRError(f"amount: must be an int of đồng, got {type(amount).__name__}")
        if not 0 < amount < MAX_AMOUNT:
            raise VietQRError(f"amount: {amount} must be above 0 and below {MAX_AMOUNT:,} đồng")
        parts.append(_f("54", str(amount)))
    parts.append("5802VN")
    name = _text("merchant_name", merchant_name, _EMV_CAPS["59"], upper=True)
    if name:
        parts.append(_f("59", name))
    city = _text("merchant_city", merchant_city, _EMV_CAPS["60"], upper=True)
    if city:
        parts.append(_f("60", city))
    extra = _additional(bill_number, reference_label, terminal_label, purpose)
    if extra:
        parts.append(_f("62", extra))
    parts.append("6304")
    body = "".join(parts)
    return f"{body}{crc_hqx(body.encode(), 0xFFFF):04X}"


def _additional(
    bill_number: str | None,
    reference_label: str | None,
    terminal_label: str | None,
    purpose: str | None,
) -> str:
    extra = ""
    for tag, name, value in (
        ("01", "bill_number", bill_number),
        ("05", "reference_label", reference_label),
        ("07", "terminal_label", terminal_label),
        ("08", "purpose", purpose),
    ):
        text = _text(name, value, _ADDITIONAL_CAP)
        if text:
            extra += _f(tag, text)
    if len(extra) > 99:
        raise VietQRError(
            f"additional data (field 62) would be {len(extra)} characters, at most 99 allowed"
        )
    return extra


def memo_for(reference: str, text: str = "") -> str:
    """A purpose (62.08) that starts with the payment reference, then as much of ``text`` as fits.

    ``memo_for("TP26ABC123", "Lệ phí cấp phiếu lý lịch")`` → ``"TP26ABC123 Le phi cap phi"``.
    """
    ref = to_ascii(reference)
    if not ref or len(ref) > _ADDITIONAL_CAP or " " in ref:
        raise VietQRError(f"reference: {reference!r} must be 1-25 characters without spaces")
    rest = " ".join(to_ascii(text).split())
    if not rest:
        return ref
    return f"{ref} {rest}"[:_ADDITIONAL_CAP].rstrip()
