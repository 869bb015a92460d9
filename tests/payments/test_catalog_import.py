"""Catalog import: ``thuphi catalog import`` as a real process, and ``POST /api/v1/catalog``."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from conftest import DEMO_CATALOG, TEST_SECRET
from sqlalchemy import func, select

from payments.catalog.models import (
    Agency,
    BeneficiaryAccount,
    FeeItem,
    PayerCategory,
    Procedure,
    ReceiptSeries,
    ReductionPolicy,
)
from payments.config import Settings
from payments.http import Container

THUPHI = Path(sys.executable).with_name("thuphi")
TABLES = {
    "payer_categories": PayerCategory,
    "agencies": Agency,
    "accounts": BeneficiaryAccount,
    "receipt_series": ReceiptSeries,
    "procedures": Procedure,
    "fees": FeeItem,
    "reductions": ReductionPolicy,
}
DEMO_COUNTS = {
    "payer_categories": 9,
    "agencies": 5,
    "accounts": 5,
    "receipt_series": 10,
    "procedures": 10,
    "fees": 12,
    "reductions": 13,
}


def demo() -> dict[str, Any]:
    return dict(json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))


def thuphi(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script against the test database, as an operator would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUPHI_")}
    env |= {
        "THUPHI_DATABASE_URL": settings.database_url,
        "THUPHI_SECRET_KEY": TEST_SECRET,
        "THUPHI_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return subprocess.run(
        [str(THUPHI), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def thuphi_in_process(
    engine: Any, settings: Settings, *args: str
) -> subprocess.CompletedProcess[str]:
    """The same console script, run in this process by click's runner on the test engine."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from payments.app import build_container, create_app
    from payments.cli import cli

    app = create_app(container=build_container(settings, engine))
    info = ScriptInfo(create_app=lambda: app)
    result = CliRunner().invoke(cli, list(args), obj=info, catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def import_file(
    engine: Any,
    settings: Settings,
    tmp_path: Path,
    document: dict[str, Any] | str,
    name: str = "catalog.json",
    *,
    real_process: bool = False,
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / name
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    if real_process:
        return thuphi(settings, tmp_path, "catalog", "import", str(path), "--json")
    return thuphi_in_process(engine, settings, "catalog", "import", str(path), "--json")


def counts(container: Container) -> dict[str, int]:
    with container.uow() as uow:
        return {
            name: uow.session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in TABLES.items()
        }


def fee_amount(container: Container, code: str) -> int:
    with container.uow() as uow:
        amounts = list(uow.session.scalars(select(FeeItem.amount).where(FeeItem.code == code)))
    assert len(amounts) == 1, amounts
    return amounts[0]


def set_fee_amount(document: dict[str, Any], code: str, amount: int) -> None:
    for procedure in document["procedures"]:
        for fee in procedure["fees"]:
            if fee["code"] == code:
                fee["amount"] = amount  # beside tiers: the first tier's price
                return
    raise AssertionError(f"no fee {code} in the document")


def test_a_good_document_imports_and_prints_the_counts_as_one_json_document(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    done = import_file(container.engine, settings, tmp_path, demo(), real_process=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == DEMO_COUNTS
    assert counts(container) == DEMO_COUNTS
    assert fee_amount(container, "GPLX") == 135_000
    with container.uow() as uow:
        account = uow.session.get(BeneficiaryAccount, "ca-kbnn")
        procedure = uow.session.get(Procedure, "1.012345")
        policy = uow.session.get(ReductionPolicy, "tt63-hochieu-online")
        assert account is not None and procedure is not None and policy is not None
        assert (account.agency_code, account.bank_bin, account.kind) == (
            "000.00.30.H40",
            "970418",
            "treasury",
        )
        assert (procedure.agency_code, procedure.account_id) == ("000.00.30.H40", "ca-kbnn")
        assert policy.kind == "rate_percent" and policy.value == 90
        assert str(policy.valid_from) == "2024-01-01" and str(policy.valid_to) == "2025-12-31"


def mutate(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        node: Any = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def append(path: tuple[Any, ...], item: Any) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        node: Any = document
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(item))

    return apply


DEMO_ACCOUNT = demo()["agencies"][0]["accounts"][0]

# a defect somewhere in the middle of an otherwise good (and changed) document →
# (entry, field, a word of the message)
# fmt: off
BAD_DOCUMENTS: list[Any] = [
    pytest.param(mutate(("agencies", 1, "tax_code"), "30002345"),
                 "agencies[1] (000.00.30.H40)", "tax_code", "pattern",
                 id="a bad tax code on the second agency"),
    pytest.param(mutate(("agencies", 1, "tax_code"), "3000234567\n"),
                 "agencies[1] (000.00.30.H40)", "tax_code", "pattern",
                 id="a tax code with a trailing newline"),
    pytest.param(mutate(("agencies", 1, "tax_code"), "３０００２３４５６７"),
                 "agencies[1] (000.00.30.H40)", "tax_code", "pattern",
                 id="a tax code in full-width digits"),
    pytest.param(append(("reductions", 4, "fees"), "NO-SUCH-FEE"),
                 "reductions[4] (lltp-mien)", "fees", "NO-SUCH-FEE",
                 id="a reduction naming an unknown fee"),
    pytest.param(mutate(("agencies", 1, "receipt_series", 0, "series"), "26TAF"),
                 "agencies[1] (000.00.30.H40)", "receipt_series.0.series", "ABCDEGHKLMNPQRSTUVXY",
                 id="a receipt series with F, a letter outside the alphabet"),
    pytest.param(mutate(("agencies", 1, "receipt_series", 0, "series"), "26TCA\n"),
                 "agencies[1] (000.00.30.H40)", "receipt_series.0.series", "ABCDEGHKLMNPQRSTUVXY",
                 id="a receipt series with a trailing newline"),
    pytest.param(mutate(("procedures", 2, "account"), "stp-kbnn"),
                 "procedures[2] (2.002163)", "account", "another agency",
                 id="a procedure paying into another agency's account"),
    pytest.param(mutate(("procedures", 2, "account"), "no-such-account"),
                 "procedures[2] (2.002163)", "account", "unknown account",
                 id="a procedure paying into an unknown account"),
    pytest.param(mutate(("procedures", 3, "agency"), "000.00.77.H40"),
                 "procedures[3] (1.012345)", "agency", "unknown agency",
                 id="a procedure of an unknown agency"),
    pytest.param(mutate(("procedures", 3, "fees", 0, "amount"), "135000"),
                 "procedures[3] (1.012345)", "fees.0.amount", "integer",
                 id="a fee amount given as a string"),
    pytest.param(mutate(("procedures", 3, "fees", 0, "amount"), -1),
                 "procedures[3] (1.012345)", "fees.0.amount", "greater",
                 id="a negative fee amount"),
    pytest.param(mutate(("procedures", 3, "fees", 0, "amount"), 10**20),
                 "procedures[3] (1.012345)", "fees.0.amount", "less",
                 id="a fee amount no BIGINT column can hold"),
    pytest.param(mutate(("procedures", 3, "fees", 0, "kind"), "thue"),
                 "procedures[3] (1.012345)", "fees.0.kind", "one of",
                 id="a fee kind that is neither phi nor le_phi"),
    pytest.param(append(("procedures",), demo()["procedures"][0]),
                 "procedures[10] (1.001234)", "code", "twice",
                 id="a procedure listed twice"),
    pytest.param(append(("agencies", 2, "accounts"), DEMO_ACCOUNT),
                 "agencies[2] (000.00.08.H40)", "accounts.1.id", "twice",
                 id="one account id under two agencies"),
    pytest.param(mutate(("reductions", 1, "value"), 120),
                 "reductions[1] (tt63-hochieu-online)", "value", "percentage",
                 id="a rate above 100 percent"),
    pytest.param(mutate(("reductions", 1, "value"), "12.50005"),
                 "reductions[1] (tt63-hochieu-online)", "value", "decimal places",
                 id="a rate with more decimals than the column keeps"),
    pytest.param(mutate(("reductions", 0, "value"), 10**12),
                 "reductions[0] (tt63-gplx-online)", "value", "less",
                 id="a fixed amount the value column cannot hold"),
    pytest.param(mutate(("reductions", 1, "valid_to"), "2023-12-31"),
                 "reductions[1] (tt63-hochieu-online)", "valid_to", "before",
                 id="a window that ends before it starts"),
    pytest.param(mutate(("reductions", 3, "channels"), ["online", "fax"]),
                 "reductions[3] (lltp-uu-dai)", "channels.1", "one of",
                 id="a reduction for an unknown channel"),
    # tiers, caps and payer categories (DESIGN §4.3)
    pytest.param(append(("reductions", 3, "payer_categories"), "studnet"),
                 "reductions[3] (lltp-uu-dai)", "payer_categories", "studnet",
                 id="a reduction for a payer category the catalog does not declare"),
    pytest.param(mutate(("procedures", 1, "fees", 0, "tiers", 1, "from"), 4),
                 "procedures[1] (2.000815)", "fees.0.tiers", "start at 3",
                 id="tiers with a gap"),
    pytest.param(mutate(("procedures", 1, "fees", 0, "tiers", 1, "to"), 10),
                 "procedures[1] (2.000815)", "fees.0.tiers", "open",
                 id="tiers that stop short of every quantity"),
    pytest.param(mutate(("procedures", 1, "fees", 0, "tiers", 0, "per"), "page"),
                 "procedures[1] (2.000815)", "fees.0.tiers.0.per", "one of",
                 id="a tier priced per neither unit nor tier"),
    pytest.param(mutate(("procedures", 1, "fees", 0, "cap"), -5),
                 "procedures[1] (2.000815)", "fees.0.cap", "greater",
                 id="a negative cap"),
    pytest.param(mutate(("procedures", 0, "fees", 0), {"code": "LLTP", "name": "x", "kind": "phi"}),
                 "procedures[0] (1.001234)", "fees.0.amount", "amount or tiers",
                 id="a fee with neither an amount nor tiers"),
    pytest.param(mutate(("payer_categories", 0, "code"), "Student!"),
                 "payer_categories[0] (Student!)", "code", "pattern",
                 id="a payer category code that is not a code"),
    # remitting to the state budget (DESIGN §4.3 budget)
    pytest.param(mutate(("procedures", 0, "fees", 0, "budget", "retained_percent"), 101),
                 "procedures[0] (1.001234)", "fees.0.budget.retained_percent", "less",
                 id="a retained share above 100 percent"),
    pytest.param(mutate(("procedures", 0, "fees", 0, "budget", "retained_percent"), 97),
                 "procedures[0] (1.001234)", "fees.0.budget.transfers", "exceed",
                 id="retained and transfers above 100 percent"),
    pytest.param(mutate(("procedures", 3, "fees", 0, "budget", "retained_percent"), 10),
                 "procedures[3] (1.012345)", "fees.0.budget", "lệ phí",
                 id="a lệ phí that retains a share"),
    pytest.param(mutate(("procedures", 3, "fees", 0, "budget", "remit"), {"every": "week"}),
                 "procedures[3] (1.012345)", "fees.0.budget.remit.by", "weekday",
                 id="a weekly remittance rule without its weekday"),
    pytest.param(mutate(("procedures", 0, "fees", 0, "budget", "remit", "by_day"), 32),
                 "procedures[0] (1.001234)", "fees.0.budget.remit.by_day", "less",
                 id="a monthly remittance rule on day 32"),
    pytest.param(mutate(("procedures", 0, "fees", 0, "budget", "chapter"), "41"),
                 "procedures[0] (1.001234)", "fees.0.budget.chapter", "pattern",
                 id="a budget chapter that is not three digits"),
]
# fmt: on


def changed_demo() -> dict[str, Any]:
    """The demo catalog with an update and an addition that a half-import would leave behind."""
    document = demo()
    set_fee_amount(document, "LLTP", 210_000)
    document["agencies"].append(
        {
            "code": "000.00.99.H40",
            "name": "Sở Mới",
            "tax_code": "3000999999",
            "accounts": [
                {
                    "id": "new-acc",
                    "bank_bin": "970415",
                    "account_number": "1",
                    "account_name": "SO MOI",
                    "kind": "bank",
                }
            ],
            "receipt_series": [{"series": "26TMX"}],
        }
    )
    return document


def test_the_changed_demo_document_is_itself_good(
    container: Container, catalog: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    # the control for the table below: without a defect the same document does write
    done = import_file(container.engine, settings, tmp_path, changed_demo())
    assert done.returncode == 0, done.stderr
    assert counts(container) == DEMO_COUNTS | {"agencies": 6, "accounts": 6, "receipt_series": 11}
    assert fee_amount(container, "LLTP") == 210_000
    with container.uow() as uow:
        lltp = uow.session.scalars(select(FeeItem).where(FeeItem.code == "LLTP")).one()
        assert lltp.tiers is not None and lltp.tiers[0]["amount"] == 210_000


@pytest.mark.parametrize(("defect", "entry", "field", "word"), BAD_DOCUMENTS)
def test_a_document_with_one_bad_entry_writes_nothing_and_names_entry_and_field(
    container: Container,
    catalog: dict[str, Any],
    settings: Settings,
    tmp_path: Path,
    defect: Callable[[dict[str, Any]], None],
    entry: str,
    field: str,
    word: str,
) -> None:
    document = changed_demo()
    defect(document)

    done = import_file(container.engine, settings, tmp_path, document)

    assert done.returncode != 0
    assert done.stdout.strip(), done.stderr  # the process's own explanation when it says nothing
    problem = json.loads(done.stdout)
    assert problem["code"] == "catalog-invalid"
    assert any(
        e["entry"] == entry and e["field"] == field and word.lower() in e["message"].lower()
        for e in problem["errors"]
    ), problem["errors"]
    assert counts(container) == DEMO_COUNTS
    assert fee_amount(container, "LLTP") == 200_000
    with container.uow() as uow:
        assert uow.session.get(Agency, "000.00.99.H40") is None


def test_a_failed_import_explains_itself_on_stderr_without_json(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    document = demo()
    document["agencies"][1]["tax_code"] = "30002345"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    done = thuphi(settings, tmp_path, "catalog", "import", str(path))

    assert done.returncode != 0
    assert "agencies[1] (000.00.30.H40): tax_code:" in done.stderr
    assert "Traceback" not in done.stderr
    assert counts(container) == dict.fromkeys(DEMO_COUNTS, 0)


def test_a_document_that_is_neither_json_nor_yaml_is_refused(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    done = import_file(container.engine, settings, tmp_path, '{"agencies": [', "broken.json")
    assert done.returncode != 0
    assert json.loads(done.stdout)["code"] == "catalog-invalid"
    assert counts(container) == dict.fromkeys(DEMO_COUNTS, 0)


def test_importing_again_updates_in_place_without_duplicates(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    assert import_file(container.engine, settings, tmp_path, demo()).returncode == 0
    document = demo()
    set_fee_amount(document, "GPLX", 140_000)
    document["reductions"][0]["value"] = 120_000
    document["agencies"][0]["name"] = "Sở Tư pháp (đổi tên)"

    done = import_file(container.engine, settings, tmp_path, document)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == DEMO_COUNTS
    assert counts(container) == DEMO_COUNTS
    assert fee_amount(container, "GPLX") == 140_000
    with container.uow() as uow:
        policy = uow.session.get(ReductionPolicy, "tt63-gplx-online")
        agency = uow.session.get(Agency, "000.00.12.H40")
        assert policy is not None and policy.value == 120_000
        assert agency is not None and agency.name == "Sở Tư pháp (đổi tên)"


def test_a_fee_left_out_of_a_procedure_on_reimport_is_removed(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    assert import_file(container.engine, settings, tmp_path, demo()).returncode == 0
    document = demo()
    (enterprise,) = [p for p in document["procedures"] if p["code"] == "2.001610"]
    enterprise["fees"] = [f for f in enterprise["fees"] if f["code"] != "CBTT"]

    done = import_file(container.engine, settings, tmp_path, document)

    assert done.returncode == 0, done.stderr
    assert counts(container) == {**DEMO_COUNTS, "fees": DEMO_COUNTS["fees"] - 1}
    with container.uow() as uow:
        codes = uow.session.scalars(
            select(FeeItem.code).where(FeeItem.procedure_code == "2.001610")
        )
        assert list(codes) == ["DKDN"]


def test_the_whole_demo_catalog_imports_from_yaml(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    text = yaml.safe_dump(demo(), allow_unicode=True, sort_keys=False)
    done = import_file(container.engine, settings, tmp_path, text, "catalog.yaml")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == DEMO_COUNTS
    assert counts(container) == DEMO_COUNTS


HANDWRITTEN_YAML = """\
# a catalog as an officer writes it: comments, unquoted dates
agencies:
  - code: 000.00.12.H40
    name: Sở Tư pháp tỉnh Hà Tĩnh
    tax_code: "3000123456"
    accounts:
      - {id: stp-kbnn, bank_bin: "970415", account_number: "376101234567",
         account_name: SO TU PHAP HA TINH, kind: treasury}
    receipt_series:
      - series: 26TAB
procedures:
  - code: "2.000815"
    name: Chứng thực bản sao từ bản chính giấy tờ, văn bản
    agency: 000.00.12.H40
    account: stp-kbnn
    fees:
      - {code: CTBS, name: Phí chứng thực bản sao, kind: phi, amount: 2000}
reductions:
  - id: ctbs-online
    fees: [CTBS]
    channels: [online]
    kind: rate_percent
    value: 50
    valid_from: 2023-12-01
    valid_to: 2025-12-31
    legal_basis: Thông tư 63/2023/TT-BTC
"""


def test_a_handwritten_yaml_document_with_unquoted_dates_imports(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    done = import_file(container.engine, settings, tmp_path, HANDWRITTEN_YAML, "catalog.yml")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "payer_categories": 0,
        "agencies": 1,
        "accounts": 1,
        "receipt_series": 1,
        "procedures": 1,
        "fees": 1,
        "reductions": 1,
    }
    with container.uow() as uow:
        policy = uow.session.get(ReductionPolicy, "ctbs-online")
        assert policy is not None
        assert (str(policy.valid_from), str(policy.valid_to)) == ("2023-12-01", "2025-12-31")


# --- over HTTP -----------------------------------------------------------------------------

Api = Callable[..., requests.Session]


def post_catalog(s: requests.Session, body: str, content_type: str = "application/json") -> Any:
    return s.post(
        f"{s.base_url}/api/v1/catalog",  # type: ignore[attr-defined]
        data=body.encode(),
        headers={"Content-Type": content_type},
        timeout=30,
    )


def test_http_import_with_catalog_write_upserts(api: Api, container: Container) -> None:
    document = demo()
    set_fee_amount(document, "GPLX", 140_000)
    resp = post_catalog(api(["catalog:write"]), json.dumps(document))
    assert resp.status_code == 200, resp.text
    assert resp.json() == DEMO_COUNTS
    assert counts(container) == DEMO_COUNTS
    assert fee_amount(container, "GPLX") == 140_000


def test_http_import_accepts_yaml(api: Api, container: Container) -> None:
    resp = post_catalog(api(["catalog:write"]), HANDWRITTEN_YAML, "application/yaml")
    assert resp.status_code == 200, resp.text
    assert resp.json()["reductions"] == 1
    with container.uow() as uow:
        assert uow.session.get(ReductionPolicy, "ctbs-online") is not None


def test_http_import_of_a_bad_document_is_a_422_listing_the_errors(
    api: Api, container: Container
) -> None:
    document = demo()
    set_fee_amount(document, "GPLX", 140_000)
    document["agencies"][1]["receipt_series"][0]["series"] = "26TAF"
    resp = post_catalog(api(["catalog:write"]), json.dumps(document))
    assert resp.status_code == 422
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.json()["errors"] == [
        {
            "entry": "agencies[1] (000.00.30.H40)",
            "field": "receipt_series.0.series",
            "message": "must be YY + T + two letters of ABCDEGHKLMNPQRSTUVXY",
        }
    ]
    assert fee_amount(container, "GPLX") == 135_000


@pytest.mark.parametrize(
    ("scopes", "agencies"),
    [
        pytest.param(["payments:write"], None, id="without the catalog:write scope"),
        pytest.param(["catalog:read"], None, id="with only catalog:read"),
        pytest.param(["catalog:write"], ["000.00.12.H40"], id="limited to some agencies"),
    ],
)
def test_http_import_is_forbidden(
    api: Api, container: Container, scopes: list[str], agencies: list[str] | None
) -> None:
    document = demo()
    set_fee_amount(document, "GPLX", 140_000)
    resp = post_catalog(api(scopes, agencies), json.dumps(document))
    assert resp.status_code == 403
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.json()["code"] == "forbidden"
    assert fee_amount(container, "GPLX") == 135_000


def test_http_import_without_a_token_is_unauthorized(api: Api, container: Container) -> None:
    s = api(["catalog:write"])
    resp = requests.post(
        f"{s.base_url}/api/v1/catalog",  # type: ignore[attr-defined]
        data=json.dumps(demo()),
        timeout=30,
    )
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthorized"


def test_tiers_cap_and_payer_categories_survive_the_database(
    container: Container, catalog: dict[str, Any]
) -> None:
    with container.uow() as uow:
        ctbs = uow.session.scalars(select(FeeItem).where(FeeItem.code == "CTBS")).one()
        spec = ctbs.to_spec()
        martyr = uow.session.get(PayerCategory, "martyr_relative")
        assert martyr is not None and martyr.name.startswith("Thân nhân liệt sĩ")
    assert (spec.amount, spec.cap, len(spec.tiers)) == (2_000, 200_000, 2)
    assert (spec.tiers[1].start, spec.tiers[1].end, spec.tiers[1].amount) == (3, None, 1_000)


def test_a_catalog_that_declares_no_categories_keeps_its_policies_codes(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    done = import_file(container.engine, settings, tmp_path, HANDWRITTEN_YAML, "catalog.yml")
    assert done.returncode == 0, done.stderr
    document = HANDWRITTEN_YAML.replace(
        "kind: rate_percent", "kind: rate_percent\n    payer_categories: [anything]"
    )
    again = import_file(container.engine, settings, tmp_path, document, "again.yml")
    assert again.returncode == 0, again.stderr


def test_a_fee_with_tiers_may_leave_out_its_amount(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    document = yaml.safe_load(HANDWRITTEN_YAML)
    document["reductions"] = []
    document["procedures"][0]["fees"][0] = {
        "code": "CTBS",
        "name": "Phí chứng thực bản sao",
        "kind": "phi",
        "tiers": [{"from": 1, "to": 2, "amount": 2000}, {"from": 3, "amount": 1000}],
        "cap": 200000,
    }
    done = import_file(container.engine, settings, tmp_path, document)
    assert done.returncode == 0, done.stderr
    assert fee_amount(container, "CTBS") == 2_000


def test_each_fees_budget_rule_survives_the_database_and_is_read_back(
    api: Api, container: Container
) -> None:
    with container.uow() as uow:
        lltp = uow.session.scalars(select(FeeItem).where(FeeItem.code == "LLTP")).one()
        # TT 244/2016 Điều 7: 81 % retained, 4 % to the national LLTP centre, 15 % to the budget
        assert lltp.budget == {
            "retained_percent": "81",
            "transfers": [{"to": "Trung tâm Lý lịch tư pháp quốc gia", "percent": "4"}],
            "chapter": "414",
            "sub_item": "2764",
            "remit": {"every": "month", "by_day": 5},
        }
    s = api(["payments:read"])
    resp = s.get(f"{s.base_url}/api/v1/procedures", timeout=10)
    assert resp.status_code == 200, resp.text
    fees = {f["code"]: f for p in resp.json()["items"] for f in p["fees"]}
    assert fees["GPLX"]["budget"]["remit"] == {"every": "week", "by": "thursday"}
    assert fees["HC"]["budget"]["sub_item"] == "2752"  # Lệ phí cấp hộ chiếu


def test_every_demo_fee_has_a_budget_rule_with_a_sub_item_and_le_phi_retain_nothing() -> None:
    # docs/budget.md "Demo catalog": the payment order and the declarations print chương and
    # tiểu mục per fee, so the demo catalog leaves none blank
    document = json.loads(DEMO_CATALOG.read_text("utf-8"))
    fees = [f for p in document["procedures"] for f in p["fees"]]
    assert len(fees) == 12
    for fee in fees:
        budget = fee.get("budget")
        assert budget is not None, fee["code"]
        assert re.fullmatch(r"\d{4}", budget.get("sub_item") or ""), fee["code"]
        if fee["kind"] == "le_phi":
            assert budget["retained_percent"] == 0 and not budget.get("transfers"), fee["code"]
