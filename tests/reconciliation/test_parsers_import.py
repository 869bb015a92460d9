"""What the parsers read, through the import and the API (issue 18): a camt.053 batch of ten
transfers matched to ten requests by the reconciliation run; :25: forms; a file without an
account; another account's statement; another bank's layout; GET /api/v1/statements/{id}."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from factories import payment_request_row

from payments.http import Container
from payments.payment_requests.models import PaymentRequest

DAY = date(2026, 11, 2)
WRITE = ["reconciliation:write", "reconciliation:read"]
VN = Path(__file__).parent / "fixtures" / "vn"
ACCOUNTS = {"stp-kbnn": ("000.00.12.H40", "1.001234"), "ca-kbnn": ("000.00.30.H40", "2.002163")}


@pytest.fixture
def make_request(container: Container, catalog: dict[str, Any]) -> Callable[..., PaymentRequest]:
    def make(amount: int = 200_000, account: str = "stp-kbnn") -> PaymentRequest:
        agency, procedure = ACCOUNTS[account]
        with container.uow() as uow:
            req = payment_request_row(
                procedure_code=procedure,
                agency_code=agency,
                account_id=account,
                total_amount=amount,
            )
            uow.session.add(req)
            uow.commit()
            return req

    return make


def upload(
    s: requests.Session, data: bytes, name: str, account: str = "stp-kbnn", **form: str
) -> Any:
    return s.post(
        f"{s.base_url}/api/v1/accounts/{account}/statements",  # type: ignore[attr-defined]
        files={"file": (name, data)},
        data=form,
        timeout=30,
    )


def get(s: requests.Session, path: str) -> Any:
    return s.get(f"{s.base_url}{path}", timeout=30)  # type: ignore[attr-defined]


def camt_batch(account: str, refs: list[str], amounts: list[int]) -> bytes:
    """One booked batch entry (the bank credits ten transfers at once) with a TxDtls each; the
    references travel structured (Strd/CdtrRefInf/Ref), with no Ustrd at all."""
    details = "".join(
        f"""<TxDtls><Refs><EndToEndId>E2E{n}</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="VND">{amount}</Amt></TxAmt></AmtDtls>
          <RltdPties><Dbtr><Nm>NGUYEN VAN {n}</Nm></Dbtr>
            <DbtrAcct><Id><Othr><Id>00110012345{n:02d}</Id></Othr></Id></DbtrAcct></RltdPties>
          <RmtInf><Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"""
        for n, (ref, amount) in enumerate(zip(refs, amounts, strict=True), 1)
    )
    total = sum(amounts)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-02T23:00:00+07:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2026-11-02T23:00:00+07:00</CreDtTm>
<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>VND</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="VND">1000000</Amt>
  <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-02</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="VND">{1_000_000 + total}</Amt>
  <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-02</Dt></Dt></Bal>
<Ntry><Amt Ccy="VND">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>2026-11-02</Dt></BookgDt><ValDt><Dt>2026-11-02</Dt></ValDt>
  <AcctSvcrRef>BATCH0001</AcctSvcrRef>
  <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
  <NtryDtls><Btch><NbOfTxs>{len(refs)}</NbOfTxs></Btch>{details}</NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode()


def test_a_camt053_batch_of_ten_is_ten_lines_matched_to_ten_requests(
    api: Callable[..., requests.Session],
    make_request: Callable[..., PaymentRequest],
    container: Container,
) -> None:
    s = api(WRITE)
    requests_ = [make_request(100_000 + 1_000 * n) for n in range(10)]
    data = camt_batch(
        "ICBVVNVX/376101234567",
        [r.reference for r in requests_],
        [r.total_amount for r in requests_],
    )
    imported = upload(s, data, "camt053.xml")
    assert imported.status_code == 201, imported.text
    assert imported.json()["lines_total"] == 10
    assert imported.json()["warnings"] == []
    statement = get(s, f"/api/v1/statements/{imported.json()['statement_id']}").json()
    assert [ln["bank_reference"] for ln in statement["lines"]] == [
        f"BATCH0001/{n}" for n in range(1, 11)
    ]
    assert [ln["reference"] for ln in statement["lines"]] == [r.reference for r in requests_]
    assert statement["lines"][0]["counterparty_name"] == "NGUYEN VAN 1"

    run = s.post(
        f"{s.base_url}/api/v1/accounts/stp-kbnn/reconciliations",  # type: ignore[attr-defined]
        json={"date": DAY.isoformat()},
        timeout=30,
    ).json()
    assert run["summary"]["matched"] == 10, run
    assert not any(run["summary"]["exceptions"].values())
    with container.uow() as uow:
        paid = [uow.session.get(PaymentRequest, r.id) for r in requests_]
        assert {p.status for p in paid if p is not None} == {"paid"}


def mt940(field_25: str | None, memo: str, amount: int = 200_000) -> bytes:
    lines = [":20:STMT1", *([f":25:{field_25}"] if field_25 else []), ":28C:1/1"]
    lines += [
        ":60F:C261102VND1000000,",
        f":61:2611021102C{amount},NTRFNONREF//FT1",
        f":86:{memo}",
        f":62F:C261102VND{1_000_000 + amount},",
    ]
    return ("\r\n".join(lines) + "\r\n-").encode()


@pytest.mark.parametrize(
    "field_25",
    [
        "ICBVVNVX/376101234567",
        "376101234567 VND",
        "376101234567VND",
        "3761.0.1234567",
        "3761-0-1234 567",
    ],
)
def test_the_25_account_in_five_forms_is_this_account(
    api: Callable[..., requests.Session], field_25: str
) -> None:
    s = api(WRITE)
    response = upload(s, mt940(field_25, "nop phi"), "s.sta")
    assert response.status_code == 201, response.text
    assert response.json()["account_unverified"] is False
    other = upload(s, mt940("ICBVVNVX/376101234568", "nop phi"), "other.sta")
    assert other.status_code == 422
    assert other.json()["code"] == "statement-wrong-account"


def test_a_statement_without_25_imports_unverified_and_says_so(
    api: Callable[..., requests.Session],
) -> None:
    s = api(WRITE)
    response = upload(s, mt940(None, "nop phi"), "no25.sta")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["account_unverified"] is True
    assert any("names no account" in w for w in body["warnings"])
    statement = get(s, f"/api/v1/statements/{body['statement_id']}").json()
    assert statement["account_unverified"] is True
    assert statement["lines"][0]["account_unverified"] is True
    assert (statement["opening_balance"], statement["closing_balance"]) == (1_000_000, 1_200_000)


def test_another_accounts_statement_is_refused_naming_it_unless_overridden(
    api: Callable[..., requests.Session], make_request: Callable[..., PaymentRequest]
) -> None:
    s = api(WRITE)
    theirs = [make_request(50_000, account="ca-kbnn") for _ in range(3)]
    ours = make_request(50_000)
    memos = [r.reference for r in [*theirs, ours]]
    header = "booking_date,value_date,amount,description,bank_reference,counterparty_name,"
    header += "counterparty_account,balance"
    rows = [f"2026-11-02,,50000,CK {m} le phi,FT{n},,," for n, m in enumerate(memos)]
    data = "\n".join([header, *rows]).encode()

    refused = upload(s, data, "sao-ke.csv")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "statement-wrong-account"
    assert "3 of the 4 payment references" in problem["detail"]
    assert "'ca-kbnn'" in problem["detail"]

    forced = upload(s, data, "sao-ke.csv", override="true")
    assert forced.status_code == 201, forced.text


def test_another_banks_layout_imports_with_a_warning(
    api: Callable[..., requests.Session],
) -> None:
    s = api(WRITE)
    data = (VN / "techcombank.xlsx").read_bytes()
    # the export names its own account number: the officer forwards it to the right account
    response = upload(s, data, "tcb.xlsx", account="stp-kbnn")
    assert response.status_code == 422  # 19031234567011 is not stp-kbnn's number
    book = openpyxl.load_workbook(io.BytesIO(data))  # the same export, of stp-kbnn's account
    sheet = book.active
    assert sheet is not None
    sheet["B3"] = "376101234567"
    out = io.BytesIO()
    book.save(out)
    response = upload(s, out.getvalue(), "tcb.xlsx", account="stp-kbnn")
    assert response.status_code == 201, response.text
    (warning,) = response.json()["warnings"]
    assert "techcombank export" in warning and "970415" in warning


@pytest.mark.parametrize(
    ("row", "status", "needle"),
    [
        ("2026-11-02,,1000000000001,x,FT1,,,", 422, "above the largest accepted"),
        ("2026-11-02,,99999999999999999999999,x,FT1,,,", 422, "above the largest accepted"),
        ("2026-11-02,,5,x\x00y,FT1,,,", 422, "NUL character"),
    ],
)
def test_huge_amounts_and_nul_bytes_are_a_422_naming_the_line(
    api: Callable[..., requests.Session], row: str, status: int, needle: str
) -> None:
    s = api(WRITE)
    header = "booking_date,value_date,amount,description,bank_reference,counterparty_name,"
    header += "counterparty_account,balance"
    response = upload(s, f"{header}\n2026-11-02,,5,ok,FT0,,,\n{row}\n".encode(), "x.csv")
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
    assert response.json().get("line") == 3


def test_the_statement_endpoint_pages_its_lines(api: Callable[..., requests.Session]) -> None:
    s = api(WRITE)
    header = "booking_date,value_date,amount,description,bank_reference,counterparty_name,"
    header += "counterparty_account,balance"
    rows = [f"2026-11-02,,{n},memo {n},FT{n},,,{1000 + n * (n + 1) // 2}" for n in range(1, 8)]
    body = upload(s, "\n".join([header, *rows]).encode(), "p.csv").json()
    path = f"/api/v1/statements/{body['statement_id']}"
    first = get(s, f"{path}?limit=3").json()
    assert first["format"] == "csv" and first["account_id"] == "stp-kbnn"
    assert (first["opening_balance"], first["closing_balance"]) == (1000, 1028)
    assert first["warnings"] == []
    assert [ln["amount"] for ln in first["lines"]] == [1, 2, 3]
    second = get(s, f"{path}?limit=3&after={first['next_after']}").json()
    assert [ln["amount"] for ln in second["lines"]] == [4, 5, 6]
    last = get(s, f"{path}?limit=3&after={second['next_after']}").json()
    assert [ln["amount"] for ln in last["lines"]] == [7] and last["next_after"] is None
    assert get(s, "/api/v1/statements/999999").status_code == 404
    other_agency = api(["reconciliation:read"], ["000.00.30.H40"])
    assert get(other_agency, path).status_code == 404


def test_a_workbook_bomb_is_a_413(api: Callable[..., requests.Session]) -> None:
    from tests.reconciliation.test_parsers_vn_layouts import bomb

    s = api(WRITE)
    response = upload(s, bomb(70), "bomb.xlsx")
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "statement-too-large"


def test_the_cli_refuses_another_accounts_statement_unless_forced(
    container: Container, make_request: Callable[..., PaymentRequest], tmp_path: Path
) -> None:
    import json

    from payments.app import create_app
    from payments.cli import cli

    runner = create_app(container=container).test_cli_runner()
    theirs = make_request(50_000, account="ca-kbnn")
    file = tmp_path / "sao-ke.sta"
    file.write_bytes(mt940("376101234567", f"CK {theirs.reference}", 50_000))
    base = ["statements", "import", "--account", "stp-kbnn", str(file), "--json"]

    refused = runner.invoke(cli, base)
    forced = runner.invoke(cli, [*base, "--force"])

    assert refused.exit_code == 1
    problem = json.loads(refused.stdout)
    assert problem["code"] == "statement-wrong-account" and "'ca-kbnn'" in problem["detail"]
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["lines_imported"] == 1
