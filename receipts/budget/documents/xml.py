"""A declaration or settlement as XML in the layout of the tax authority's e-filing documents:
``HSoThueDTu/HSoKhaiThue`` holding ``TTinChung`` (the declaration and the taxpayer) and
``CTieuTKhaiChinh`` (the form's lines), as the authority's own stylesheets read them.

The element names of the lines follow those stylesheets for the fee forms of TT 80/2021
(``soTienPHThuDuoc``, ``tyLe``, ``soTienPHTrichTheoCheDo``, ``soTienPHPhaiNop``,
``soTienPHKKTrongKy``, ``chenhLech``); the form code (``maTKhai``), the XSD version and the
namespace of an e-filing of 01/PHLP or 02/PHLP were not found (docs/budget.md): this is the
form's data in that layout, not yet a file the authority's portal is known to accept.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from receipts.budget.documents import forms

SOFTWARE = "thuphi"


def declaration_xml(doc: dict[str, Any]) -> bytes:
    root = etree.Element("HSoThueDTu")
    filing = etree.SubElement(root, "HSoKhaiThue")
    _general(etree.SubElement(filing, "TTinChung"), doc)
    main = etree.SubElement(filing, "CTieuTKhaiChinh")
    settlement = forms.is_settlement(doc)
    body = etree.SubElement(main, "NoiDung02PHLP" if settlement else "NoiDung01PHLP")
    for index, line in enumerate(doc["lines"], start=1):
        item = etree.SubElement(body, "ChiTietPhiLePhi", id=f"ID_{index}")
        values: list[tuple[str, Any]] = [
            ("ma_LoaiPhiLePhi", line["fee_code"]),
            ("ten_LoaiPhiLePhi", line["fee_name"]),
            ("ma_Chuong", line["chapter"]),
            ("ma_TieuMuc", line["sub_item"]),
            ("soTienPHThuDuoc", line["collected"]),
            ("tyLe", line["not_owed_percent"]),
            ("soTienPHTrichTheoCheDo", line["collected"] - line["owed"]),
            ("soTienPHPhaiNop", line["owed"]),
        ]
        if settlement:
            values += [("soTienPHKKTrongKy", line["declared"]), ("chenhLech", line["difference"])]
        _fill(item, values)
    t = doc["totals"]
    sums: list[tuple[str, Any]] = [
        ("tongCongSTThuDuoc", t["collected"]),
        ("tongCongSTTrichTheoCheDo", t["collected"] - t["owed"]),
        ("tongCongSTPhaiNop", t["owed"]),
    ]
    if settlement:
        sums += [("tongCongSTKKTrongKy", t["declared"]), ("tongCongChenhLech", t["difference"])]
    _fill(etree.SubElement(main, "TongCong"), sums)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _general(general: etree._Element, doc: dict[str, Any]) -> None:
    service = etree.SubElement(general, "TTinDVu")
    _fill(service, [("maDVu", SOFTWARE), ("tenDVu", SOFTWARE)])
    about = etree.SubElement(general, "TTinTKhaiThue")
    form = etree.SubElement(about, "TKhaiThue")
    supplement = int(doc.get("supplement") or 0)
    _fill(
        form,
        [
            ("mauTKhai", doc["form"]),
            ("tenTKhai", forms.title(doc)),
            ("moTaBMau", forms.BASIS),
            ("loaiTKhai", "B" if supplement else "C"),  # bổ sung / chính thức (lần đầu)
            ("soLan", supplement),
        ],
    )
    period = etree.SubElement(form, "KyKKhaiThue")
    settlement = forms.is_settlement(doc)
    label = doc["period"] if settlement else "/".join(reversed(doc["period"].split("-")))
    _fill(
        period,
        [
            ("kieuKy", "Y" if settlement else "M"),
            ("kyKKhai", label),
            ("kyKKhaiTuNgay", f"{doc['period_start']:%d/%m/%Y}"),
            ("kyKKhaiDenNgay", f"{doc['period_end']:%d/%m/%Y}"),
        ],
    )
    _fill(form, [("ngayLapTKhai", doc["prepared_on"].isoformat())])
    taxpayer = etree.SubElement(about, "NNT")
    _fill(
        taxpayer,
        [("mst", doc["tax_code"]), ("tenNNT", doc["agency_name"]), ("maDonVi", doc["agency_code"])],
    )


def _fill(parent: etree._Element, values: list[tuple[str, Any]]) -> None:
    for name, value in values:
        etree.SubElement(parent, name).text = "" if value is None else str(value)
