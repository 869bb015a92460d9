"""The NAPAS bank directory and the ``vietqr decode`` command."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from click.testing import CliRunner

from payments.vietqr import bank_name, is_known, short_name
from payments.vietqr.banks import bank, banks
from payments.vietqr.cli import describe, vietqr

ACB_DYNAMIC = (  # xuannghia/vietnam-qr-pay@10369f3 README.md
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA53037045405100005802VN"
    "62150811Chuyen tien630453E6"
)


def packaged() -> dict[str, object]:
    text = resources.files("payments.vietqr").joinpath("banks.json").read_text("utf-8")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def test_packaged_directory_keeps_its_sources_and_every_bin() -> None:
    data = packaged()
    assert set(data["sources"]) == {"xuannghia", "subiz", "sbv"}  # type: ignore[call-overload]
    entries = data["banks"]
    assert isinstance(entries, list)
    assert len(entries) == data["count"]
    assert all(entry["sources"] for entry in entries)
    assert set(banks()) == {entry["bin"] for entry in entries}


@pytest.mark.parametrize(
    ("bin_", "short", "name_part"),
    [
        ("970415", "VietinBank", "Công thương"),
        ("970418", "BIDV", "Đầu tư và Phát triển"),
        ("970436", "Vietcombank", "Ngoại thương"),
        ("970454", "BVBank", "Bản Việt"),
        # renamed banks keep their BIN: the current name wins
        ("970414", "MBV", ""),
        ("970449", "LPBank", ""),
        ("970406", "Vikki Bank", "Vikki"),
        # CIMB: the VietQR.io-derived BIN and the one in the SBV register are both known
        ("422589", "CIMB Bank", "CIMB"),
        ("970459", "CIMBBank", "CIMB"),
    ],
)
def test_bins_map_to_current_bank_names(bin_: str, short: str, name_part: str) -> None:
    assert is_known(bin_)
    assert short_name(bin_) == short
    name = bank_name(bin_)
    assert name is not None
    assert name_part.casefold() in name.casefold()
    found = bank(bin_)
    assert found is not None
    assert not found.deprecated


@pytest.mark.parametrize("bin_", ["970488", "000000", "", "9704155"])
def test_unknown_bins(bin_: str) -> None:
    assert not is_known(bin_)
    assert bank_name(bin_) is None
    assert short_name(bin_) is None


def test_directory_is_loaded_once() -> None:
    assert banks() is banks()


def test_describe_adds_the_bank_names() -> None:
    described = describe(ACB_DYNAMIC)
    assert described["bank_short_name"] == "ACB"
    assert described["bank_name"] == bank_name("970416")
    assert (described["amount"], described["purpose"]) == (10000, "Chuyen tien")


def test_decode_command_prints_the_fields() -> None:
    result = CliRunner().invoke(vietqr, ["decode", ACB_DYNAMIC])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "bank_short_name: ACB" in lines
    assert "amount: 10000" in lines
    assert "purpose: Chuyen tien" in lines
    assert "field 38: 0010A0000007270123000697041601092576788590208QRIBFTTA" in lines


def test_decode_command_prints_one_json_document() -> None:
    result = CliRunner().invoke(vietqr, ["decode", ACB_DYNAMIC, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["valid"] is True
    assert (document["bank_bin"], document["account"]) == ("970416", "257678859")
    assert document["fields"]["54"] == "10000"


def test_decode_command_reports_an_invalid_payload_with_exit_code_1() -> None:
    result = CliRunner().invoke(vietqr, ["decode", ACB_DYNAMIC[:-4] + "53E7"])
    assert result.exit_code == 1
    assert result.output == "invalid: bad CRC: payload says 53E7, content gives 53E6\n"


def test_decode_command_reports_an_invalid_payload_as_json() -> None:
    result = CliRunner().invoke(vietqr, ["decode", "--json", "hello"])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document == {
        "valid": False,
        "error": "payload: id and length must be 4 digits at position 0: 'hell'",
    }
