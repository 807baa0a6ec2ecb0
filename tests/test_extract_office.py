"""Word and Excel reports: known truth written by python-docx, openpyxl and LibreOffice must parse back exactly;
containers are told apart by their directories; hostile packages get an issue in bounded time."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from extract import parse_document
from extract.limits import MAX_MEMBER_BYTES, MAX_TABLES
from extract.loading import sniff_binary
from extract.readers import docx as docx_reader
from extract.readers import legacy
from extract.template import VERSIONS
from tests.corpus import random_truth
from tests.corpus.compare import cell_mismatches, error_issues, field_mismatches
from tests.corpus.office import OFFICE_LAYOUTS, convert_all, docx_bytes, render_office
from tests.corpus.tables import Style

REPO = Path(__file__).resolve().parents[1]


def _parse(doc) -> dict:
    return parse_document(doc.data, doc.name, doc.headers).to_contract()


def _assert_exact(doc, got: dict) -> None:
    assert not error_issues(got), f"{doc.name}: error issues on a clean document: {error_issues(got)}"
    wrong = field_mismatches(doc.truth, got) + cell_mismatches(doc.truth, got)
    assert not wrong, f"{doc.name}: {len(wrong)} wrong: " + "; ".join(map(str, wrong[:8]))


def _codes(got: dict) -> set[tuple[str, str]]:
    return {(i["code"], i["severity"]) for i in got["issues"]}


@pytest.mark.parametrize("layout", OFFICE_LAYOUTS)
@pytest.mark.parametrize("version", VERSIONS)
def test_each_office_layout_parses_back_exactly(layout, version):
    """Merges (vMerge, gridSpan, Excel ranges), split tables, full-width digits, blank markers, numbers as text."""
    rng = random.Random(f"{layout}-{version}")
    doc = render_office(random_truth(rng, version), layout, rng)
    _assert_exact(doc, _parse(doc))


def test_many_generated_office_documents_are_all_exact():
    """≥ 99.9 % of cells exact is asked; every cell of 18 more documents is, with no silent error."""
    total = wrong = 0
    for i in range(18):
        rng = random.Random(1000 + i)
        doc = render_office(random_truth(rng, rng.choice(VERSIONS)), OFFICE_LAYOUTS[i % len(OFFICE_LAYOUTS)], rng, name=f"{i}")
        got = _parse(doc)
        total += len(doc.truth["cells"])
        bad = field_mismatches(doc.truth, got) + cell_mismatches(doc.truth, got)
        wrong += len(bad)
        assert not bad or error_issues(got), f"{doc.name}: silent errors: {bad[:5]}"
    assert wrong == 0, f"{wrong} of {total} cells wrong"


def test_a_merged_word_cell_is_one_token_at_its_top_left_slot():
    """python-docx gives a merged cell's text in every slot it covers; the reader gives it once."""
    rng = random.Random(3)
    data, title = docx_bytes(random_truth(rng, "2021"), Style(), rng)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    assert b"w:vMerge" in xml and b"w:gridSpan" in xml  # real Word merges
    res = docx_reader.read(data)
    assert res.title == title and res.tables == 3
    results = [t for t in res.tokens if t.text == "三、本年度办理结果"]
    assert len(results) == 1 and results[0].col == 0  # rowspan of 23 rows, one token
    header = [t for t in res.tokens if t.text == "申请人情况"]
    assert len(header) == 1 and header[0].col == 3  # the balance note spans 3 columns before it


def test_a_table_split_at_a_page_break_is_read_as_one_grid():
    rng = random.Random(5)
    data, _ = docx_bytes(random_truth(rng, "2019"), Style(), rng, split=True)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    assert xml.count(b"<w:tbl>") > 3 and b'w:type="page"' in xml
    res = docx_reader.read(data)
    assert res.tables == 3
    rows = {}
    for t in res.tokens:
        if t.table is not None:
            rows.setdefault(t.table, set()).add(t.row)
    assert all(r == set(range(len(r))) for r in rows.values())  # rows continue across the cut


@pytest.fixture(scope="module")
def converted():
    """.doc and .xls made by LibreOffice from generated DOCX and XLSX (one converter run each)."""
    docs, sheets = [], []
    for i, layout in enumerate(("docx_split", "docx_fullwidth")):
        rng = random.Random(f"doc-{i}")
        docs.append(render_office(random_truth(rng, VERSIONS[i % 2]), layout, rng, name=f"{i}.docx"))
    for i, layout in enumerate(("xlsx_sheets",)):
        rng = random.Random(f"xls-{i}")
        sheets.append(render_office(random_truth(rng, VERSIONS[i % 2]), layout, rng, name=f"{i}.xlsx"))
    return convert_all(docs, "doc") + convert_all(sheets, "xls")


@pytest.mark.timeout(300)
def test_legacy_doc_and_xls_are_converted_and_parse_back_exactly(converted):
    for doc in converted:
        fmt = doc.name.rsplit(".", 1)[1]
        assert sniff_binary(doc.data)[0] == fmt
        got = _parse(doc)
        assert got.get("document_kind") == "annual_report", got["issues"]
        _assert_exact(doc, got)


def test_without_a_converter_a_legacy_document_gets_converter_missing(converted, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    got = _parse(converted[0])
    assert _codes(got) == {("converter_missing", "error")} and got["cells"] == {}


def test_a_conversion_past_its_deadline_is_converter_failed(converted):
    binary = legacy.converter()
    assert binary, "LibreOffice is installed by make setup"
    data, problem = legacy.convert(binary, converted[0].data, "doc", "docx", timeout=0.05)
    assert data is None and "within 0.05 s" in problem


def test_a_damaged_legacy_document_gets_its_issue(converted):
    """Its directory unreadable: unsupported_format (never sent to the converter); its Word stream's header
    (FIB) destroyed: LibreOffice loads nothing, converter_failed with what it said."""
    real = bytearray(next(d for d in converted if d.name.endswith(".doc")).data)
    zeroed = parse_document(bytes(real[:512]) + bytes(len(real) - 512), "x.doc").to_contract()
    assert _codes(zeroed) == {("unsupported_format", "error")} and "directory" in zeroed["issues"][0]["message"]
    entry = real.find("WordDocument".encode("utf-16-le"))
    start = int.from_bytes(real[entry + 0x74:entry + 0x78], "little")  # the stream's first sector
    real[(start + 1) * 512:(start + 2) * 512] = b"\xff" * 512
    got = parse_document(bytes(real), "x.doc").to_contract()
    assert _codes(got) == {("converter_failed", "error")} and "could not be loaded" in got["issues"][0]["message"]


# ---- format detection by content

def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def a_docx():
    rng = random.Random(21)
    return render_office(random_truth(rng, "2021"), "docx_template", rng, name="report.docx")


def test_a_docx_served_as_octet_stream_and_named_html_is_read_as_docx(a_docx):
    got = parse_document(a_docx.data, "report.html", {"Content-Type": "application/octet-stream"}).to_contract()
    _assert_exact(a_docx, got)


def test_a_docx_named_doc_or_wps_is_read_as_docx_without_a_converter(a_docx, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    for name in ("report.doc", "report.wps"):
        _assert_exact(a_docx, parse_document(a_docx.data, name).to_contract())


@pytest.mark.parametrize("streams, fmt", [
    (["Root Entry", "WordDocument", "1Table", "\x05SummaryInformation"], "doc"),  # Word 97-2003, and Kingsoft WPS's .wps
    (["Root Entry", "Workbook", "\x05SummaryInformation"], "xls"),
    (["Root Entry", "Book"], "xls"),  # Excel 5/95
    (["Root Entry", "CONTENTS", "SPELLING"], "wps"),  # Microsoft Works
    (["Root Entry", "EncryptedPackage", "EncryptionInfo"], "ole2"),  # a password-protected DOCX/XLSX
    (["Root Entry", "PowerPoint Document", "Current User"], "ole2"),
])
def test_an_ole2_file_is_told_by_its_streams(streams, fmt):
    from extract.readers.containers import ole2_kind

    assert ole2_kind(streams)[0] == fmt


def test_an_html_error_page_named_docx_is_read_as_html():
    page = "<html><head><title>404 Not Found</title></head><body><h1>404 页面不存在</h1></body></html>".encode()
    report = parse_document(page, "report.docx", {"Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"})
    assert report.input_format == "html" and report.document_kind == "not_annual_report"


@pytest.mark.parametrize("members, fmt", [
    ({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<x/>"}, "docx"),
    ({"xl/workbook.xml": b"<w/>", "[Content_Types].xml": b"<x/>"}, "xlsx"),
    ({"readme.txt": b"hello", "data.csv": b"1,2"}, "zip"),
    ({"OFD.xml": b"<ofd/>"}, "ofd"),
])
def test_a_zip_container_is_told_by_its_members(members, fmt):
    assert sniff_binary(_zip(members))[0] == fmt


def test_archives_that_are_no_report_get_unsupported_format_with_the_reason():
    got = parse_document(_zip({"readme.txt": b"hello"}), "report.docx").to_contract()
    assert _codes(got) == {("unsupported_format", "error")}
    assert "no Word or Excel" in got["issues"][0]["message"]


def test_a_truncated_docx_gets_an_issue(a_docx):
    got = parse_document(a_docx.data[: len(a_docx.data) // 2], "cut.docx").to_contract()
    assert _codes(got) == {("unsupported_format", "error")} and "central directory" in got["issues"][0]["message"]


def test_a_docx_with_a_damaged_member_gets_decode_failure():
    data = bytearray(_zip({"word/document.xml": b"<w:document>" + os.urandom(4000).hex().encode() + b"</w:document>"}))
    data[200:260] = bytes(60)  # inside the compressed member
    got = parse_document(bytes(data), "damaged.docx").to_contract()
    assert ("decode_failure", "error") in _codes(got)


# ---- hostile packages: an issue each, in bounded time and memory

@pytest.mark.timeout(60)
def test_a_zip_bomb_posing_as_docx_is_refused_before_it_is_inflated():
    bomb = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b" " * (MAX_MEMBER_BYTES + 1)})
    assert len(bomb) < 200_000
    got = parse_document(bomb, "bomb.docx").to_contract()
    assert _codes(got) == {("input_too_large", "error")} and "MAX_MEMBER_BYTES" in got["issues"][0]["message"]
    dense = _zip({"word/document.xml": b"<w:document>" + b" " * 20_000_000 + b"</w:document>"})
    got = parse_document(dense, "dense.docx").to_contract()
    assert _codes(got) == {("input_too_large", "error")} and "MAX_RATIO" in got["issues"][0]["message"]


def test_a_bomb_in_an_xlsx_is_refused_too():
    got = parse_document(_zip({"xl/workbook.xml": b"<w/>", "xl/worksheets/sheet1.xml": b" " * (MAX_MEMBER_BYTES + 1)}), "b.xlsx").to_contract()
    assert _codes(got) == {("input_too_large", "error")}


@pytest.mark.timeout(60)
def test_a_docx_with_10000_tables_gets_input_too_large():
    rng = random.Random(4)
    tables = (f"<w:tbl><w:tblGrid>{'<w:gridCol/>' * (1 + i % 3)}</w:tblGrid><w:tr><w:tc><w:p><w:r><w:t>{rng.randint(0, 10**9)}"
              f"</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p><w:r><w:t>表{i}</w:t></w:r></w:p>" for i in range(10_000))
    xml = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           + "".join(tables) + "</w:body></w:document>").encode()
    got = parse_document(_zip({"word/document.xml": xml}), "tables.docx").to_contract()
    assert _codes(got) == {("input_too_large", "error")} and f"more than {MAX_TABLES} tables" in got["issues"][0]["message"]


def test_a_docx_with_an_entity_bomb_is_not_expanded():
    xml = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
           b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
           b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&d;</w:t>'
           b"</w:r></w:p></w:body></w:document>")
    res = docx_reader.read(_zip({"word/document.xml": xml}))
    assert all(len(t.text) < 100 for t in res.tokens)


# ---- the command line contract

@pytest.mark.timeout(120)
def test_disclosure_parse_reads_docx_and_xlsx_with_the_same_contract(tmp_path, a_docx):
    rng = random.Random(31)
    sheet = render_office(random_truth(rng, "2019"), "xlsx_sheets", rng)
    (tmp_path / "a.docx").write_bytes(a_docx.data)
    (tmp_path / "b.xlsx").write_bytes(sheet.data)
    (tmp_path / "c.docx").write_bytes(b"PK\x03\x04 truncated")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "parse", str(tmp_path), "--jsonl"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr
    out = {Path(o["source"]).name: o for o in map(json.loads, proc.stdout.splitlines())}
    contract = {"source", "document_kind", "template_version", "agency", "year", "published", "cells", "issues"}
    assert all(contract <= set(o) for o in out.values())
    for name, doc in (("a.docx", a_docx), ("b.xlsx", sheet)):
        _assert_exact(doc, out[name])
    assert out["c.docx"]["issues"][0]["code"] == "unsupported_format"


def test_an_xlsx_whose_cells_span_the_whole_sheet_gets_input_too_large():
    """Two cells at opposite corners: the used rectangle is 17 billion slots, refused before a token is made."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"], book.active["XFD1048576"] = "政府信息公开工作年度报告", 1
    buf = io.BytesIO()
    book.save(buf)
    got = parse_document(buf.getvalue(), "corners.xlsx").to_contract()
    assert _codes(got) == {("input_too_large", "error")} and "MAX_TOKENS" in got["issues"][0]["message"]


def test_a_text_box_is_read_once_and_deleted_text_and_field_codes_not_at_all():
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    box = "<w:txbxContent><w:p><w:r><w:t>某某局2023年政府信息公开工作年度报告</w:t></w:r></w:p></w:txbxContent>"
    xml = (f"<w:document {w} {mc}><w:body><w:p><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\">{box}</mc:Choice>"
           f"<mc:Fallback>{box}</mc:Fallback></mc:AlternateContent></w:r></w:p>"
           "<w:p><w:r><w:instrText>PAGE</w:instrText></w:r><w:del><w:r><w:delText>旧</w:delText></w:r></w:del>"
           "<w:r><w:t>第一行</w:t><w:br/><w:t>第二行</w:t></w:r></w:p></w:body></w:document>").encode()
    res = docx_reader.read(_zip({"word/document.xml": xml}))
    assert [t.text for t in res.tokens] == ["某某局2023年政府信息公开工作年度报告", "第一行", "第二行"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_refresh_job_lands_word_and_excel_reports_from_a_folder(tmp_path, converted, a_docx):
    """The real refresh job on a folder of a DOCX, an XLSX and a LibreOffice .doc: parsed, gated, published."""
    from tests.warehouse_support import query, run_refresh_job, warehouse_paths

    rng = random.Random(41)
    sheet = render_office(random_truth(rng, "2019"), "xlsx_one_sheet", rng, name="sheet.xlsx")
    legacy_doc = next(d for d in converted if d.name.endswith(".doc"))
    folder = tmp_path / "docs"
    folder.mkdir()
    docs = {"report.docx": a_docx, "sheet.xlsx": sheet, "legacy.doc": legacy_doc}
    for name, doc in docs.items():
        (folder / name).write_bytes(doc.data)
    paths = warehouse_paths(tmp_path / "wh")
    result, _ = run_refresh_job(paths, sources=folder)
    assert result.success
    landed = query(paths.published, "select d.source_uri, d.input_format, r.gate_status from raw.documents d "
                                    "join marts.dim_report r using (source_uri)")
    formats = {Path(u).name: (f, g) for u, f, g in landed.itertuples(index=False)}
    assert formats == {"report.docx": ("docx", "passed"), "sheet.xlsx": ("xlsx", "passed"), "legacy.doc": ("doc", "passed")}
    facts = query(paths.published, "select r.source_uri, f.metric_key, f.value from marts.fct_metric f "
                                    "join marts.dim_report r using (report_id)")
    for name, doc in docs.items():
        got = {k: v for u, k, v in facts.itertuples(index=False) if Path(u).name == name}
        missing_or_wrong = [m for m in cell_mismatches(doc.truth, {"cells": got}) if m.expected is not None]
        assert not missing_or_wrong and len(got) >= len(doc.truth["cells"]), name  # (2021: plus the derived applications.other.*)
