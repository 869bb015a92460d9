"""VietQR codec against public payloads, then every rule of DESIGN §2 "VietQR" one by one.

Public vectors name their source (repository@commit path). Payloads this file builds itself are
made with ``build``, whose CRC is an independent bit-by-bit CRC-16/CCITT-FALSE.
"""

from __future__ import annotations

import pytest

from payments.vietqr import VietQRError, decode, encode, memo_for, to_ascii

SUBIZ = "subiz/vietqr@0861e8a vietqr_test.go"
SUBIZ_README = "subiz/vietqr@8da5679 README.md"
XN_TEST = "xuannghia/vietnam-qr-pay@0212ad4 test/test-vietqr.spec.ts"
XN_README = "xuannghia/vietnam-qr-pay@10369f3 README.md"
XN_VNPAY = "xuannghia/vietnam-qr-pay@0212ad4 test/test-vnpay-qr.spec.ts"
XN_WALLETS = "xuannghia/vietnam-qr-pay@10369f3 test/test-momo-zalopay.spec.ts"
XN_EVN = "xuannghia/vietnam-qr-pay@62e09bc test/test-evn-qr.spec.ts"
XN_AIRPAY = "xuannghia/vietnam-qr-pay@0212ad4 test/test-airpay-qr.spec.ts"
EMVCO = "EMVCo QR Code Specification for Payment Systems, Merchant-Presented Mode: sample payload"

# (source, payload, expected attributes of the decoded payload)
VIETQR_VECTORS = [
    pytest.param(
        "00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN"
        "6304CBB4",
        {"initiation": "static", "bank_bin": "970423", "account": "0099999999", "amount": None},
        id=f"{SUBIZ} static TPBank",
    ),
    pytest.param(
        "00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA5303704540540123"
        "5802VN62200816test text string6304D9C6",
        {
            "initiation": "dynamic",
            "bank_bin": "970422",
            "amount": 40123,
            "purpose": "test text string",
        },
        id=f"{SUBIZ} dynamic MB with memo",
    ),
    pytest.param(
        "00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA5303704540540123"
        "5802VN62160812chuyen khoan6304722F",
        {"account": "0023457923442", "purpose": "chuyen khoan"},
        id=f"{SUBIZ} memo from 'chuyển khoản'",
    ),
    pytest.param(
        "00020101021238630010A0000007270133000697042201190023457923442ASDFLJ0208QRIBFTTA5303704540"
        "5401235802VN62290825chuyen khoan alsdkf laksj6304E5DB",
        {"account": "0023457923442ASDFLJ", "purpose": "chuyen khoan alsdkf laksj"},
        id=f"{SUBIZ} 19-character account, 25-character memo",
    ),
    pytest.param(
        "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA5303704540612000"
        "05802VN62170813ung ho lu lut6304C15C",
        {"bank_bin": "970415", "amount": 120000, "purpose": "ung ho lu lut"},
        id=f"{SUBIZ_README} VietinBank 120000",
    ),
    pytest.param(
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540410005802VN"
        "62150811Chuyen tien6304BBB8",
        {"initiation": "dynamic", "bank_bin": "970416", "account": "257678859", "amount": 1000},
        id=f"{XN_TEST} ACB",
    ),
    pytest.param(
        "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F",
        {"initiation": "static", "account": "257678859", "purpose": None, "crc": "AE9F"},
        id=f"{XN_README} static ACB",
    ),
    pytest.param(
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA53037045405100005802VN"
        "62150811Chuyen tien630453E6",
        {"amount": 10000, "purpose": "Chuyen tien"},
        id=f"{XN_README} dynamic ACB",
    ),
    pytest.param(
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA53037045406999999"
        "5802VN62140810Cam on nhe6304E786",
        {"amount": 999999, "purpose": "Cam on nhe"},
        id=f"{XN_README} rebuilt ACB",
    ),
    pytest.param(
        "00020101021138620010A00000072701320006970454011899MM24011M348750800208QRIBFTTA53037045802VN"
        "62190515MOMOW2W3487508080030466304EBC8",
        {
            "bank_bin": "970454",
            "account": "99MM24011M34875080",
            "reference_label": "MOMOW2W34875080",
            "fields": {"80": "046"},
        },
        id=f"{XN_WALLETS} MoMo via BVBank, unreserved field 80",
    ),
    pytest.param(
        "00020101021138620010A00000072701320006970454011899ZP24009M072482670208QRIBFTTA53037045802VN"
        "6304073C",
        {"bank_bin": "970454", "account": "99ZP24009M07248267", "service_code": "QRIBFTTA"},
        id=f"{XN_WALLETS} ZaloPay via BVBank",
    ),
]

OTHER_VECTORS = [
    pytest.param(
        "00020101021126280010A000000775011001087990425204597753037045802VN5909MYPHAMHER6005HANOI"
        "62260311MY PHAM HER0707MPHER0163041C50",
        {
            "guid": "A000000775",
            "mcc": "5977",
            "terminal_label": "MPHER01",
            "merchant_city": "HANOI",
        },
        id=f"{XN_VNPAY} VNPAY-QR",
    ),
    pytest.param(
        "00020101021126280010A0000007750110010531314453037045408210900005802VN5910CELLPHONES"
        "62600312CPSHN ONLINE0517021908061613127850705ONLHN0810CellphoneS63047685",
        {"guid": "A000000775", "amount": 21090000, "reference_label": "02190806161312785"},
        id=f"{XN_README} VNPAY-QR with amount",
    ),
    pytest.param(
        "000201010211262400020001140100101114-0195204490053037045802VN5931EVN CONG TY DIEN LUC "
        "THANH XUAN6006Ha Noi62450302000613PD000000000000702000812TT tien dien6304DC30",
        # a 31-character name: over EMVCo's 25, accepted because caps are checked for VietQR only
        {"guid": "00", "mcc": "4900", "merchant_name": "EVN CONG TY DIEN LUC THANH XUAN"},
        id=f"{XN_EVN} EVN bill",
    ),
    pytest.param(
        "00020101021126610013vn.airpay.www014000000201010100064185noC4efDjGKq0or5GbeBz5204581253037045"
        "910RESTAURANT6009HOCHIMINH5802VN6304DA5C",
        {"guid": "vn.airpay.www", "merchant_name": "RESTAURANT", "amount": None},
        id=f"{XN_AIRPAY} AirPay (ShopeePay)",
    ),
]

INVALID_VECTORS = [
    pytest.param(
        # the README's hand-built walkthrough: 38 lacks the GUID, 62 says 16 characters but has 18,
        # and E69F is not the CRC of the content (13BC is)
        "0002010102113838000697042201120023457923440208QRIBFTTA530370454061800005802VN62160814ung "
        "ho bao lut6304E69F",
        "payload: id and length must be 4 digits at position 97: 'ut63'",
        id=f"{SUBIZ_README} walkthrough",
    ),
    pytest.param(
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540410005802VN"
        "62150811Chuyen tien6304BBB5",
        "bad CRC: payload says BBB5, content gives BBB8",
        id=f"{XN_TEST} invalid CRC",
    ),
    pytest.param(
        "00020101021126280010A000000775011001087990425204597753037045802VN5909MYPHAMHER6005HANOI"
        "62260311MY PHAM HER0707MPHER0163041C55",
        "bad CRC: payload says 1C55, content gives 1C50",
        id=f"{XN_VNPAY} invalid CRC",
    ),
    pytest.param(
        # a VNPAY wallet's personal QR: valid CRC but not EMV merchant-presented (its Vietnamese
        # text is only a warning now; the missing currency field is structural)
        "00020101021002020103069084010411VNPayWallet071003933571580809Lê Anh Tú09051000010037041107"
        "content63042678",
        "missing mandatory field 53 (currency)",
        id=f"{XN_VNPAY} personal VNPayQR",
    ),
    pytest.param(
        # valid CRC over the UTF-8 of field 64, so decoding gets as far as the currency
        "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
        "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
        "540523.7253031565502016233030412340603***0708A60086670902ME91320016A011223344998877070812"
        "3456786304A13A",
        "field 53: currency must be '704', got '156'",
        id=f"{EMVCO} CNY example",
    ),
]


def crc16_ccitt_false(data: bytes) -> int:
    """Bit by bit, so the tests do not take the codec's word for its CRC."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def build(*fields: tuple[str, str], crc: str | None = None) -> str:
    body = "".join(tlv(tag, value) for tag, value in fields) + "6304"
    return body + (crc or f"{crc16_ccitt_false(body.encode()):04X}")


BENEFICIARY = tlv("00", "970415") + tlv("01", "012345678901")
ACCOUNT_38 = tlv("00", "A000000727") + tlv("01", BENEFICIARY) + "0208QRIBFTTA"


def vietqr_fields(**overrides: str | None) -> list[tuple[str, str]]:
    """A valid VietQR field list; ``overrides`` replace (or, with None, drop) root fields by id."""
    base = {
        "00": "01",
        "01": "12",
        "38": ACCOUNT_38,
        "53": "704",
        "54": "115000",
        "58": "VN",
        "62": tlv("08", "TP26ABC123 Le phi"),
    }
    for key, value in overrides.items():
        tag = key.removeprefix("f")
        if value is None:
            base.pop(tag, None)
        else:
            base[tag] = value
    return list(base.items())


def test_reference_crc_matches_the_standard_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize(("payload", "expected"), VIETQR_VECTORS)
def test_public_vietqr_payloads_decode(payload: str, expected: dict[str, object]) -> None:
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == payload[-4:]
    decoded = decode(payload, require_vietqr=True)
    assert decoded.kind == "vietqr"
    assert (decoded.guid, decoded.currency, decoded.country) == ("A000000727", "704", "VN")
    for name, value in expected.items():
        if name == "fields":
            assert isinstance(value, dict)
            assert value.items() <= decoded.fields.items()
        else:
            assert getattr(decoded, name) == value, name


@pytest.mark.parametrize(("payload", "expected"), OTHER_VECTORS)
def test_public_payloads_of_other_schemes_decode_as_other(
    payload: str, expected: dict[str, object]
) -> None:
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == payload[-4:]
    decoded = decode(payload)
    assert decoded.kind == "other"
    assert (decoded.bank_bin, decoded.account, decoded.service_code) == (None, None, None)
    for name, value in expected.items():
        assert getattr(decoded, name) == value, name


@pytest.mark.parametrize("payload", [pytest.param(p.values[0], id=p.id) for p in OTHER_VECTORS])
def test_other_schemes_are_refused_when_vietqr_is_required(payload: str) -> None:
    with pytest.raises(VietQRError, match="missing mandatory field 38"):
        decode(payload, require_vietqr=True)


@pytest.mark.parametrize(("payload", "message"), INVALID_VECTORS)
def test_public_payloads_that_are_invalid_are_refused(payload: str, message: str) -> None:
    with pytest.raises(VietQRError) as caught:
        decode(payload)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "payload"),
    [
        pytest.param(
            {"bank_bin": "970423", "account": "0099999999"},
            "00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN"
            "6304CBB4",
            id=SUBIZ,
        ),
        pytest.param(
            {
                "bank_bin": "970422",
                "account": "0023457923442",
                "amount": 40123,
                "purpose": "chuyển khoản",
            },
            "00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA530370454054"
            "01235802VN62160812chuyen khoan6304722F",
            id=f"{SUBIZ} diacritics",
        ),
        pytest.param(
            {
                "bank_bin": "970415",
                "account": "0011001932418",
                "amount": 120000,
                "purpose": "ủng hộ lũ lụt",
            },
            "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061"
            "200005802VN62170813ung ho lu lut6304C15C",
            id=SUBIZ_README,
        ),
        pytest.param(
            {
                "bank_bin": "970416",
                "account": "257678859",
                "amount": 10000,
                "purpose": "Chuyen tien",
            },
            "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540510000"
            "5802VN62150811Chuyen tien630453E6",
            id=XN_README,
        ),
        pytest.param(
            {"bank_bin": "970454", "account": "99ZP24009M07248267"},
            "00020101021138620010A00000072701320006970454011899ZP24009M072482670208QRIBFTTA5303704"
            "5802VN6304073C",
            id=XN_WALLETS,
        ),
    ],
)
def test_encode_reproduces_public_payloads(kwargs: dict[str, object], payload: str) -> None:
    assert encode(**kwargs) == payload  # type: ignore[arg-type]


def test_lower_case_crc_is_accepted_and_reported_upper_case() -> None:
    payload = VIETQR_VECTORS[1].values[0]
    assert isinstance(payload, str)
    assert payload.endswith("D9C6")
    decoded = decode(payload[:-4] + "d9c6")
    assert decoded.crc == "D9C6"
    assert decoded.amount == 40123


def test_root_fields_in_another_order_are_accepted() -> None:
    fields = dict(vietqr_fields())
    shuffled = [("00", "01"), ("62", fields["62"]), ("58", "VN"), ("54", "115000")]
    shuffled += [("53", "704"), ("38", ACCOUNT_38), ("01", "12"), ("52", "9399")]
    decoded = decode(build(*shuffled))
    assert (decoded.bank_bin, decoded.account, decoded.amount) == ("970415", "012345678901", 115000)
    assert (decoded.purpose, decoded.mcc, decoded.initiation) == (
        "TP26ABC123 Le phi",
        "9399",
        "dynamic",
    )
    assert list(decoded.fields) == ["00", "62", "58", "54", "53", "38", "01", "52", "63"]


def test_field_64_may_carry_vietnamese_and_the_crc_covers_its_utf8() -> None:
    alternate = tlv("00", "VI") + tlv("01", "Sở Tư pháp")
    decoded = decode(build(*vietqr_fields(), ("64", alternate)))
    assert decoded.fields["64"] == "0002VI0110Sở Tư pháp"


def test_additional_data_labels_are_decoded() -> None:
    extra = tlv("01", "HD-2026-0001") + tlv("05", "TP26ABC123") + tlv("07", "QUAY-01")
    decoded = decode(build(*vietqr_fields(f62=extra + tlv("08", "Le phi"))))
    assert (decoded.bill_number, decoded.reference_label) == ("HD-2026-0001", "TP26ABC123")
    assert (decoded.terminal_label, decoded.purpose) == ("QUAY-01", "Le phi")


def replace_crc(payload: str, crc: str) -> str:
    return payload[:-4] + crc


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param("", "missing mandatory field 63", id="empty"),
        pytest.param(
            build(*vietqr_fields())[:-2], "declares length 4 but only 2", id="truncated crc"
        ),
        pytest.param(build(*vietqr_fields())[:40], "remain (truncated?)", id="truncated template"),
        pytest.param(
            build(*vietqr_fields()) + "6", "payload: truncated TLV at position", id="tail"
        ),
        pytest.param(
            "00020101X212" + build()[4:], "id and length must be 4 digits", id="non-digit length"
        ),
        pytest.param(
            "0X02010102122" + build(), "id and length must be 4 digits", id="non-digit id"
        ),
        pytest.param("000201" + "0100" + build()[6:], "field 01 has length 00", id="empty field"),
        pytest.param(
            replace_crc(build(*vietqr_fields()), "12G4"), "is not 4 hexadecimal", id="crc hex"
        ),
        pytest.param(
            build(*vietqr_fields())[:-8] + "6303ABC", "63 (CRC) must be the last", id="crc len"
        ),
        pytest.param(
            build(*vietqr_fields(), ("63", "ABCD"), ("99", "x")),
            "duplicate field 63",
            id="63 twice",
        ),
        pytest.param(
            "".join(tlv(t, v) for t, v in vietqr_fields()) + "6304ABCD" + tlv("99", "x"),
            "63 (CRC) must be the last field",
            id="crc not last",
        ),
        pytest.param(
            "".join(tlv(t, v) for t, v in vietqr_fields()),
            "missing mandatory field 63",
            id="no crc",
        ),
        pytest.param(build(*vietqr_fields(f00=None)), "missing mandatory field 00", id="no 00"),
        pytest.param(
            build(("01", "12"), *vietqr_fields(f01=None)),
            "must be the first field",
            id="00 not first",
        ),
        pytest.param(build(*vietqr_fields(f00="02")), "must be '01', got '02'", id="00 value"),
        pytest.param(build(*vietqr_fields(f01=None)), "missing mandatory field 01", id="no 01"),
        pytest.param(build(*vietqr_fields(f01="13")), "must be 11 or 12, got '13'", id="01 value"),
        pytest.param(build(*vietqr_fields(f53=None)), "missing mandatory field 53", id="no 53"),
        pytest.param(build(*vietqr_fields(f53="840")), "must be '704', got '840'", id="USD"),
        pytest.param(build(*vietqr_fields(f58=None)), "missing mandatory field 58", id="no 58"),
        pytest.param(build(*vietqr_fields(f58="vn")), "must be 'VN', got 'vn'", id="58 value"),
        pytest.param(
            build(*vietqr_fields(f38=None)), "missing merchant account information", id="no account"
        ),
        pytest.param(build(*vietqr_fields(f52="93")), "52: merchant category code '93'", id="mcc"),
        pytest.param(
            build(*vietqr_fields(f53="704"), ("53", "704")),
            "payload: duplicate field 53",
            id="dup root",
        ),
        pytest.param(
            build(*vietqr_fields(f62=tlv("08", "a") + tlv("08", "b"))),
            "field 62 template: duplicate field 08",
            id="dup in 62",
        ),
        pytest.param(
            build(*vietqr_fields(f62="08XXabc")), "field 62 template: id and length", id="bad 62"
        ),
        pytest.param(
            build(*vietqr_fields(f38=ACCOUNT_38 + "0305ab")),
            "field 38 template: field 03 declares length 5",
            id="bad 38",
        ),
        pytest.param(
            build(
                *vietqr_fields(
                    f38=tlv("00", "A000000727") + tlv("01", "00069704150112") + "0208QRIBFTTA"
                )
            ),
            "field 38.01 template: field 01 declares length 12",
            id="bad 38.01",
        ),
        pytest.param(
            build(*vietqr_fields(f38=tlv("00", "A000000727") + "0208QRIBFTTA")),
            "missing 01 (beneficiary organisation)",
            id="no beneficiary",
        ),
        pytest.param(
            build(*vietqr_fields(f38=tlv("00", "A000000727") + tlv("01", tlv("00", "970415")))),
            "missing 00 (bank BIN) or 01 (account)",
            id="no account number",
        ),
        pytest.param(
            build(
                *vietqr_fields(
                    f38=tlv("00", "A000000727")
                    + tlv("01", tlv("00", "97041") + tlv("01", "1"))
                    + "0208QRIBFTTA"
                )
            ),
            "38.01.00: bank BIN '97041' is not 6 digits",
            id="5-digit BIN",
        ),
        pytest.param(
            build(
                *vietqr_fields(
                    f38=tlv("00", "A000000727")
                    + tlv("01", "0006970415" + tlv("01", "1" * 20))
                    + "0208QRIBFTTA"
                )
            ),
            "38.01.01: account '11111111111111111111' is not 1-19",
            id="20-character account",
        ),
        pytest.param(
            build(
                *vietqr_fields(
                    f38=tlv("00", "A000000727")
                    + tlv("01", "0006970415" + tlv("01", "3761.0.1"))
                    + "0208QRIBFTTA"
                )
            ),
            "account '3761.0.1' is not 1-19 letters or digits",
            id="account with dots",
        ),
        pytest.param(
            build(*vietqr_fields(f38=ACCOUNT_38.replace("QRIBFTTA", "QRIBFTTX"))),
            "field 38.02: unknown service code 'QRIBFTTX'",
            id="service code",
        ),
        pytest.param(
            build(*vietqr_fields(f38=ACCOUNT_38[:-12])),
            "missing 02 (service code)",
            id="no service code",
        ),
        pytest.param(
            build(*vietqr_fields(f62=tlv("08", "line\nbreak"))),
            "field 62: control character '\\n'",
            id="control character",
        ),
        pytest.param(
            build(*vietqr_fields(), ("64", tlv("00", "VI") + tlv("01", "a\tb"))),
            "field 64: control character '\\t'",
            id="control in 64",
        ),
        pytest.param(
            build(*vietqr_fields(), ("64", "0003VI")),
            "field 64 template: field 00 declares",
            id="bad 64",
        ),
    ],
)
def test_malformed_payloads_say_what_is_wrong(payload: str, message: str) -> None:
    with pytest.raises(VietQRError) as caught:
        decode(payload)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "is zero or has a leading zero"),
        ("00", "is zero or has a leading zero"),
        ("0100", "is zero or has a leading zero"),
        ("-100", "digits only"),
        ("+100", "digits only"),
        ("1,000", "digits only"),
        ("1.000", "digits only"),
        ("100.00", "digits only"),
        ("1 000", "digits only"),
        ("1e5", "digits only"),
        ("١٠٠", "digits only"),  # Arabic-Indic digits: str.isdigit() says yes
        ("12345678901234", "longer than 13 characters"),
    ],
)
def test_bad_amounts_are_refused(amount: str, message: str) -> None:
    with pytest.raises(VietQRError) as caught:
        decode(build(*vietqr_fields(f54=amount)))
    assert message in str(caught.value)


def test_a_13_digit_amount_decodes() -> None:
    assert decode(build(*vietqr_fields(f54="9" * 13))).amount == 9_999_999_999_999


def test_a_static_payload_may_carry_an_amount() -> None:
    # EMVCo does not forbid it and public libraries emit it; encode itself never does
    decoded = decode(build(*vietqr_fields(f01="11")))
    assert (decoded.initiation, decoded.amount) == ("static", 115000)


def test_wrong_guid_is_other_unless_vietqr_is_required() -> None:
    foreign = ACCOUNT_38.replace("A000000727", "A000000775")
    payload = build(*vietqr_fields(f38=foreign))
    assert decode(payload).kind == "other"
    with pytest.raises(VietQRError, match=r"field 38: GUID 'A000000775' is not NAPAS VietQR"):
        decode(payload, require_vietqr=True)


def test_other_kind_without_field_01_has_no_initiation() -> None:
    decoded = decode(build(*vietqr_fields(f01=None, f38=None), ("26", tlv("00", "A000000775"))))
    assert (decoded.kind, decoded.initiation, decoded.guid) == ("other", None, "A000000775")


@pytest.mark.parametrize("payload", [None, 12, b"000201", ["000201"]])
def test_non_strings_raise_vietqr_error(payload: object) -> None:
    with pytest.raises(VietQRError, match="payload must be a string"):
        decode(payload)  # type: ignore[arg-type]


def test_decoded_qr_is_frozen() -> None:
    decoded = decode(build(*vietqr_fields()))
    with pytest.raises(AttributeError):
        decoded.amount = 1  # type: ignore[misc]


# --- encode -------------------------------------------------------------------------------------


def test_encode_folds_diacritics_and_upper_cases_names() -> None:
    payload = encode(
        bank_bin="970415",
        account="113366668888",
        amount=115000,
        purpose="TP26ABC123 Lệ phí hộ tịch",
        merchant_name="Sở Tư pháp Hà Tĩnh",
        merchant_city="Hà Tĩnh",
        bill_number="HĐ-01",
        reference_label="TP26ABC123",
        terminal_label="Quầy 1",
    )
    decoded = decode(payload, require_vietqr=True)
    assert (decoded.merchant_name, decoded.merchant_city) == ("SO TU PHAP HA TINH", "HA TINH")
    assert decoded.purpose == "TP26ABC123 Le phi ho tich"
    assert (decoded.bill_number, decoded.terminal_label) == ("HD-01", "Quay 1")
    assert (decoded.reference_label, decoded.initiation) == ("TP26ABC123", "dynamic")
    assert payload.isascii()


def test_encode_is_static_without_amount_and_leaves_out_empty_text() -> None:
    decoded = decode(encode(bank_bin="970436", account="0071000123456", purpose=""))
    assert (decoded.initiation, decoded.amount, decoded.purpose) == ("static", None, None)
    assert "54" not in decoded.fields
    assert "62" not in decoded.fields


def test_encode_to_card() -> None:
    decoded = decode(encode(bank_bin="970436", account="9704366800000001", service_code="QRIBFTTC"))
    assert (decoded.service_code, decoded.account) == ("QRIBFTTC", "9704366800000001")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bank_bin": "970488"}, "bank_bin: '970488' is not a known NAPAS bank BIN"),
        ({"bank_bin": "97041"}, "is not a known NAPAS bank BIN"),
        ({"account": ""}, "account: '' must be 1-19 characters"),
        ({"account": "1" * 20}, "must be 1-19 characters"),
        ({"account": "3761.0.1234567"}, "must be ASCII letters and digits only"),
        ({"account": "12345 678"}, "must be ASCII letters and digits only"),
        ({"account": "１２３"}, "must be ASCII letters and digits only"),
        ({"account": "12AB", "service_code": "QRIBFTTC"}, "card number '12AB' must be digits only"),
        ({"service_code": "QRPUSH"}, "service_code: 'QRPUSH' is not one of"),
        ({"amount": 0}, "amount: 0 must be above 0 and below 500,000,000"),
        ({"amount": -5}, "must be above 0"),
        ({"amount": 500_000_000}, "below 500,000,000"),
        ({"amount": True}, "amount: must be an int of đồng, got bool"),
        ({"amount": 1.5}, "got float"),
        ({"purpose": "P" * 26}, "purpose: 26 characters after removing diacritics, max 25"),
        ({"purpose": "Phí " * 7}, "purpose: 28 characters"),
        ({"purpose": "5€"}, "purpose: character '€' has no printable ASCII form"),
        ({"purpose": "a\nb"}, "purpose: character '\\n'"),
        ({"merchant_name": "N" * 26}, "merchant_name: 26 characters"),
        ({"merchant_city": "Thành phố Hồ Chí Minh"}, "merchant_city: 21 characters"),
        (
            {
                "bill_number": "B" * 25,
                "reference_label": "R" * 25,
                "terminal_label": "T" * 25,
                "purpose": "P" * 9,
            },
            "additional data (field 62) would be 100 characters, at most 99",
        ),
    ],
)
def test_encode_refuses_what_would_not_be_valid(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"bank_bin": "970415", "account": "113366668888", "amount": 1000}
    args.update(kwargs)
    with pytest.raises(VietQRError) as caught:
        encode(**args)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_field_62_of_exactly_99_characters_is_accepted() -> None:
    decoded = decode(
        encode(
            bank_bin="970415",
            account="1",
            bill_number="B" * 25,
            reference_label="R" * 25,
            terminal_label="T" * 25,
            purpose="P" * 8,
        )
    )
    assert len(decoded.fields["62"]) == 99
    assert decoded.purpose == "P" * 8


def test_encode_refuses_field_62_over_99_characters() -> None:
    with pytest.raises(VietQRError, match="field 62\\) would be 116 characters, at most 99"):
        encode(
            bank_bin="970415",
            account="1",
            bill_number="B" * 25,
            reference_label="R" * 25,
            terminal_label="T" * 25,
            purpose="P" * 25,
        )


def test_a_25_character_vietnamese_purpose_fits() -> None:
    purpose = "Nộp lệ phí hộ tịch số 123"
    assert len(purpose) == 25
    assert decode(encode(bank_bin="970415", account="1", purpose=purpose)).purpose == (
        "Nop le phi ho tich so 123"
    )


# --- text helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đường Lê Lợi", "Duong Le Loi"),
        ("ĐẶNG THỊ NGỌC ÁNH", "DANG THI NGOC ANH"),
        ("ăâêôơư ĂÂÊÔƠƯ đĐ", "aaeoou AAEOOU dD"),
        ("ỳýỷỹỵ", "yyyyy"),
        ("Nguyễn Văn A", "Nguyen Van A"),
        ("Thủ tục 1.001234", "Thu tuc 1.001234"),
        ("e\u0301", "e"),  # already decomposed
        ("plain ASCII !#$%", "plain ASCII !#$%"),
    ],
)
def test_to_ascii_strips_vietnamese_diacritics(text: str, expected: str) -> None:
    assert to_ascii(text) == expected


@pytest.mark.parametrize(
    ("reference", "text", "expected"),
    [
        ("TP26ABC123", "Lệ phí cấp phiếu lý lịch tư pháp", "TP26ABC123 Le phi cap phi"),
        ("TP26ABC123", "", "TP26ABC123"),
        ("TP26ABC123", "  Phí   hộ  tịch ", "TP26ABC123 Phi ho tich"),
        ("TP26ABC123", "Lệ phí cấp phiếu xxxxxxxx yy", "TP26ABC123 Le phi cap phi"),
        ("TP26ABC1234567890ABC", "Phí", "TP26ABC1234567890ABC Phi"),
        ("TP26ABC1234567890ABCDEF", "Phí", "TP26ABC1234567890ABCDEF P"),
        ("TP26ABC123", "Phí hộ tịch kết hôn", "TP26ABC123 Phi ho tich ke"),
    ],
)
def test_memo_for_starts_with_the_reference_and_fits(
    reference: str, text: str, expected: str
) -> None:
    memo = memo_for(reference, text)
    assert memo == expected
    assert len(memo) <= 25
    assert memo.startswith(reference)
    assert decode(encode(bank_bin="970415", account="1", purpose=memo)).purpose == memo


def test_memo_is_cut_at_25_characters_without_a_trailing_space() -> None:
    assert memo_for("TP26ABC123", "Phi ho tich" + " " + "x" * 20) == "TP26ABC123 Phi ho tich xx"
    assert memo_for("TP26ABC12", "Phi ho tich abc") == "TP26ABC12 Phi ho tich abc"
    assert memo_for("TP26ABC1234", "Phi ho tich abcd") == "TP26ABC1234 Phi ho tich a"
    assert memo_for("TP26ABC12345", "Phi ho ti abcdef") == "TP26ABC12345 Phi ho ti ab"
    assert memo_for("TP26ABC12345", "Phi ho ti abcdef").count(" ") == 4
    assert memo_for("TP26ABC123456", "Phi ho tic efgh") == "TP26ABC123456 Phi ho tic"


@pytest.mark.parametrize("reference", ["", "TP 26", "R" * 26, "TP€1"])
def test_memo_for_refuses_a_reference_that_cannot_lead_a_memo(reference: str) -> None:
    with pytest.raises(VietQRError):
        memo_for(reference, "Phí")


# --- lenient decoding: what real banks print (issue 18) --------------------------------------


@pytest.mark.parametrize(
    ("fields", "warnings", "check"),
    [
        pytest.param(
            vietqr_fields(f59="SỞ TƯ PHÁP HÀ TĨNH", f60="HA TINH"),
            ["field 59: non-ASCII character 'Ở'"],
            ("merchant_name", "SỞ TƯ PHÁP HÀ TĨNH"),
            id="đ and tones in 59",
        ),
        pytest.param(
            vietqr_fields(f59="CONG TY ĐIEN LUC"),
            ["field 59: non-ASCII character 'Đ'"],
            ("merchant_name", "CONG TY ĐIEN LUC"),
            id="Đ in 59",
        ),
        pytest.param(
            vietqr_fields(
                f62=tlv("08", "TPH12345678901234 Le phi h")
            ),  # 26: Vietcombank's 28 style
            ["field 62.08: 26 characters, at most 25 allowed"],
            ("purpose", "TPH12345678901234 Le phi h"),
            id="62.08 over 25",
        ),
        pytest.param(
            vietqr_fields(f62=tlv("08", "X" * 45)),  # BIDV prints purposes of 45 characters
            ["field 62.08: 45 characters, at most 25 allowed"],
            ("purpose", "X" * 45),
            id="62.08 of 45",
        ),
        pytest.param(
            vietqr_fields(f59="N" * 26, f60="C" * 16),
            [
                "field 59: 26 characters, at most 25 allowed",
                "field 60: 16 characters, at most 15 allowed",
            ],
            ("merchant_city", "C" * 16),
            id="59 and 60 over their caps",
        ),
        pytest.param(
            vietqr_fields(f62=tlv("08", "Chuyển tiền")),
            ["field 62: non-ASCII character 'ể'"],
            ("purpose", "Chuyển tiền"),
            id="diacritics in 62",
        ),
    ],
)
def test_rule_deviations_decode_with_a_warning_each(
    fields: list[tuple[str, str]], warnings: list[str], check: tuple[str, str]
) -> None:
    decoded = decode(build(*fields))
    assert decoded.kind == "vietqr" and decoded.account == "012345678901"
    assert [w.split(" (")[0] for w in decoded.warnings] == warnings
    assert getattr(decoded, check[0]) == check[1]


def test_a_conforming_payload_has_no_warnings_and_encoding_stays_strict() -> None:
    assert decode(build(*vietqr_fields())).warnings == ()
    with pytest.raises(VietQRError, match="purpose: 45 characters"):
        encode(bank_bin="970415", account="012345678901", amount=1000, purpose="X" * 45)
    with pytest.raises(VietQRError, match="merchant_name: 26 characters"):
        encode(bank_bin="970415", account="012345678901", merchant_name="N" * 26)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(build(*vietqr_fields(f59="SỞ TƯ PHÁP"), crc="0000"), "bad CRC", id="CRC"),
        pytest.param(build(*vietqr_fields(f59="SỞ TƯ PHÁP"))[:-9], "truncated", id="truncated"),
    ],
)
def test_structural_errors_still_raise_with_non_ascii_text(payload: str, message: str) -> None:
    with pytest.raises(VietQRError, match=message):
        decode(payload)
