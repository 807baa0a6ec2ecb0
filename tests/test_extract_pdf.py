"""PDF reports: generated reports printed by headless Chromium read back exactly, with page and box per cell;
scans and fonts without a Unicode map reported as such; bad PDFs each get their issue and the batch goes on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from extract import parse_document
from tests.corpus.compare import (
    cell_mismatches,
    error_issues,
    field_mismatches,
    flagged_as_expected,
)
from tests.corpus.pdf import generate_pdfs

REPO = Path(__file__).resolve().parent.parent  # (the corpus needs `make browser pdftools`: Chromium, CJK fonts, pdftoppm)


@pytest.fixture(scope="module")
def pdfs():
    return generate_pdfs(24, seed=2026)


@pytest.fixture(scope="module")
def parsed(pdfs):
    return [(d, parse_document(d.data, d.name)) for d in pdfs]


@pytest.mark.timeout(600)
def test_pdf_round_trip_exact_and_no_silent_errors(parsed) -> None:
    kinds = {d.layout for d, _ in parsed}
    assert kinds == {"pdf_text", "pdf_scanned", "pdf_no_unicode"}, kinds  # the corpus holds every kind
    assert any(d.meta["landscape"] for d, _ in parsed) and any(d.meta["thead"] for d, _ in parsed)
    total = wrong = 0
    silent = []
    for d, report in parsed:
        got = report.to_contract()
        if d.truth["expected_errors"]:  # no text layer: reported as such, never numbers
            assert flagged_as_expected(d.truth, got), (d.name, got["issues"])
            assert got["cells"] == {}, d.name
            continue
        assert report.input_format == "pdf"
        total += len(d.truth["cells"])
        bad = cell_mismatches(d.truth, got) + field_mismatches(d.truth, got)
        wrong += len(bad)
        if bad and not error_issues(got):
            silent.append((d.name, [str(m) for m in bad[:5]]))
    assert total > 0
    assert not silent, silent
    # the narrative's lines, joined where the page wrapped them: its claims are read, and agree with the tables
    claims = [(d.name, c.key, c.value, d.truth["cells"][c.key]) for d, r in parsed if not d.truth["expected_errors"] for c in r.claims]
    assert claims and all(value == truth for _, _, value, truth in claims), claims
    assert wrong <= total * 0.001, f"{wrong} of {total} cells wrong"


def test_pdf_cells_carry_their_page_and_box(parsed) -> None:
    """Each cell's box, cropped out of its page by pdfplumber (another PDF library), holds the cell's text."""
    import pdfplumber

    d, report = next((d, r) for d, r in parsed if d.layout == "pdf_text" and d.meta["landscape"])
    with pdfplumber.open(io.BytesIO(d.data)) as pdf:
        pages = {c.page for c in report.cells.values()}
        assert min(pages) >= 2  # the title page holds no table
        for cell in report.cells.values():
            if cell.filled or not cell.raw_text:
                continue
            page = pdf.pages[cell.page - 1]
            assert page.width > page.height  # a landscape page, read the right way up
            x0, top, x1, bottom = cell.bbox
            assert 0 <= x0 < x1 <= page.width and 0 <= top < bottom <= page.height
            text = page.crop((x0, top, x1, bottom)).extract_text()
            assert cell.raw_text.replace(" ", "") in text.replace(" ", "").replace("\n", ""), (cell.key, cell.raw_text, text)


def test_page_headers_and_footers_never_become_tokens(pdfs) -> None:
    """Chromium's running header (the page's <title>) and footer (第 N 页 共 M 页) are on every page: never a token."""
    import pypdfium2 as pdfium

    from extract.readers.pdf import read

    for d in [d for d in pdfs if d.layout == "pdf_text"][:4]:
        pdf = pdfium.PdfDocument(d.data)
        header = pdf.get_metadata_dict()["Title"]
        assert len(pdf) >= 4
        texts = [t.text for t in read(d.data).tokens]
        assert not [t for t in texts if "页" in t and "共" in t], d.name
        assert sum(header in t for t in texts) <= 2, d.name  # the title page's and the article's own title at most


def _pdf_with_pages(n: int) -> bytes:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for _ in range(n):
        doc.new_page(595, 842)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _encrypted(data: bytes) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as doc:
        out = io.BytesIO()
        doc.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
        return out.getvalue()


@pytest.mark.timeout(300)
def test_bad_pdfs_each_get_their_issue_and_the_batch_goes_on(pdfs, tmp_path) -> None:
    good = next(d for d in pdfs if d.layout == "pdf_text")
    files = {
        "truncated.pdf": good.data[: len(good.data) // 3],
        "encrypted.pdf": _encrypted(good.data),
        "garbage.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 400,
        "pages500.pdf": _pdf_with_pages(500),
        "good.pdf": good.data,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "parse", str(tmp_path), "--jsonl"], cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = {Path(r["source"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(out) == set(files)
    codes = {name: {(i["code"], i["severity"]) for i in r["issues"]} for name, r in out.items()}
    truncated = codes["truncated.pdf"]  # opened as far as it goes (a warning and the errors of what is missing), or not
    assert ("input_truncated", "warning") in truncated and error_issues(out["truncated.pdf"]) or truncated == {("decode_failure", "error")}
    assert "%%EOF" in " ".join(i["message"] for i in out["truncated.pdf"]["issues"])
    assert ("encrypted_document", "error") in codes["encrypted.pdf"]
    assert ("decode_failure", "error") in codes["garbage.pdf"]
    assert ("input_too_large", "error") in codes["pages500.pdf"]
    assert "MAX_PDF_PAGES" in next(i["message"] for i in out["pages500.pdf"]["issues"] if i["code"] == "input_too_large")
    for name in ("truncated.pdf", "encrypted.pdf", "garbage.pdf", "pages500.pdf"):
        assert out[name]["cells"] == {} or error_issues(out[name]), name
    # the good one in the same batch: exactly TEMPLATE.md's contract, exact cells
    r = out["good.pdf"]
    assert list(r) == ["source", "document_kind", "template_version", "agency", "year", "published", "cells", "issues"]
    assert not cell_mismatches(good.truth, r) and not field_mismatches(good.truth, r)
    assert r["published"] == good.truth["published"]


def test_a_table_split_over_pages_is_one_grid(pdfs) -> None:
    """A table that runs on over a page break keeps one table index, its rows numbered on, its repeated header dropped."""
    from extract.readers.pdf import read

    split = 0
    for d in pdfs:
        if d.layout != "pdf_text" or not d.meta["thead"]:
            continue
        tokens = [t for t in read(d.data).tokens if t.table is not None]
        pages_of: dict[int, set[int]] = {}
        for t in tokens:
            pages_of.setdefault(t.table, set()).add(t.page)
        for tb in (tb for tb, pages in pages_of.items() if len(pages) > 1):
            split += 1
            cells = [(t.row, t.col) for t in tokens if t.table == tb]
            assert len(cells) == len(set(cells))  # no grid slot given twice
            heads = [t.text for t in tokens if t.table == tb and t.row == 0 and len(t.text) > 4]
            assert all(sum(t.text == h for t in tokens if t.table == tb) == 1 for h in heads), (d.name, heads)
    assert split, "no table of the generated reports with a repeated header runs over a page break"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pdf_provenance_lands_in_raw_cells_and_staging(parsed, tmp_path) -> None:
    """A PDF cell's page and box go into raw.cells and stg_cells; a work DB landed before they existed gets the columns."""
    import duckdb

    from orchestration.warehouse.landing import ensure_schema
    from tests.warehouse_support import build_warehouse, query, warehouse_paths

    paths = warehouse_paths(tmp_path)
    paths.work_db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.work_db)) as conn:  # a work DB from before: raw.cells without page and bbox
        ensure_schema(conn)
        conn.execute("alter table raw.cells drop column page")
        conn.execute("alter table raw.cells drop column bbox")
    report = next(r for d, r in parsed if d.layout == "pdf_text")
    build_warehouse([report], paths, publish_=False)
    cells = {c.key: c for c in report.cells.values()}
    for relation in ("raw.cells", "staging.stg_cells"):
        rows = query(paths.work_db, f"select metric_key, page, bbox from {relation}")
        assert len(rows) == len(cells)
        for key, page, bbox in rows.itertuples(index=False):
            assert page == cells[key].page and tuple(bbox) == pytest.approx(cells[key].bbox), (relation, key)
        assert rows["page"].notna().all()


def _turned(data: bytes) -> bytes:
    """Each page stored turned a quarter anticlockwise with /Rotate 90 to show it upright (how Word writes landscape)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as doc:
        for page in doc.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            width, height = x1 - x0, y1 - y0
            page.contents_coalesce()
            body = page.obj.Contents.read_bytes()
            page.obj.Contents.write(f"q 0 1 -1 0 {height} 0 cm 1 0 0 1 {-x0} {-y0} cm\n".encode() + body + b"\nQ")
            page.mediabox = pikepdf.Array([0, 0, height, width])
            page.obj.Rotate = 90
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def test_a_rotated_page_is_read_the_right_way_up(parsed) -> None:
    """A page stored sideways with /Rotate gives the same cells in the same places as the upright page."""
    d, upright = next((d, r) for d, r in parsed if d.layout == "pdf_text" and not d.meta["landscape"])
    turned = parse_document(_turned(d.data), "turned.pdf")
    assert turned.values() == upright.values() and not turned.has_errors
    for key, cell in upright.cells.items():
        assert turned.cells[key].page == cell.page
        assert turned.cells[key].bbox == pytest.approx(cell.bbox, abs=0.5) if cell.bbox else turned.cells[key].bbox is None


@pytest.mark.timeout(120)
def test_a_pdf_cut_anywhere_is_never_silently_wrong(pdfs) -> None:
    """Cut short at any point, a PDF gives an error issue or, when what is left still holds it all, the exact report."""
    good = next(d for d in pdfs if d.layout == "pdf_text")
    for share in (0.1, 0.5, 0.8, 0.95, 0.99):
        got = parse_document(good.data[: int(len(good.data) * share)], "cut.pdf").to_contract()
        assert error_issues(got) or not (cell_mismatches(good.truth, got) + field_mismatches(good.truth, got)), share
        assert any(i["code"] in ("input_truncated", "decode_failure") for i in got["issues"]), share


def _rulings_as_one_stroked_path(data: bytes) -> bytes:
    """The same PDF with each run of ruling lines (Chromium's thin filled boxes, ``x y w h re f``) redrawn as one
    stroked path of many lines (``m l … S``, pikepdf), the way some office suites draw a whole table grid at once."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as doc:
        for page in doc.pages:
            ops = pikepdf.parse_content_stream(page)
            out: list = []
            run: list = []
            for k, (operands, op) in enumerate(ops):
                if str(op) == "f" and run and run[-1] is None:
                    run.pop()
                    continue
                if str(op) == "re" and k + 1 < len(ops) and str(ops[k + 1][1]) == "f" and min(operands[2:]) <= 2:
                    x, y, w, h = (float(v) for v in operands)
                    ends = ((x, y + h / 2), (x + w, y + h / 2)) if w > h else ((x + w / 2, y), (x + w / 2, y + h))
                    run += [(list(ends[0]), pikepdf.Operator("m")), (list(ends[1]), pikepdf.Operator("l")), None]
                    continue
                if run:
                    out += [*(o for o in run if o is not None), ([1], pikepdf.Operator("w")), ([], pikepdf.Operator("S"))]
                    run = []
                out.append((operands, op))
            if run:
                out += [*(o for o in run if o is not None), ([1], pikepdf.Operator("w")), ([], pikepdf.Operator("S"))]
            page.obj.Contents = doc.make_stream(pikepdf.unparse_content_stream(out))
        buf = io.BytesIO()
        doc.save(buf)
        return buf.getvalue()


def test_a_grid_drawn_as_one_stroked_path_is_read(parsed) -> None:
    d, upright = next((d, r) for d, r in parsed if d.layout == "pdf_text")
    redrawn = _rulings_as_one_stroked_path(d.data)
    assert redrawn != d.data
    got = parse_document(redrawn, "stroked.pdf")
    assert got.values() == upright.values() and not got.has_errors


@pytest.mark.timeout(300)
def test_tables_without_ruling_lines_are_never_silently_wrong() -> None:
    """The grid comes from the ruling lines; a table drawn without any is read from its text lines, and what that
    cannot place is an error issue: never a wrong or missing value in a report without one."""
    import random

    from tests.corpus.pdf import print_pdfs, report_html
    from tests.corpus.truth import random_truth

    rng = random.Random(5)
    truths = [random_truth(rng, version) for version in ("2019", "2021", "2021")]
    pages = [report_html(t, rng, ruled=False) for t in truths]
    for truth, data in zip(truths, print_pdfs([p for p, _ in pages], [o for _, o in pages])):
        got = parse_document(data, "unruled.pdf").to_contract()
        assert error_issues(got) or not (cell_mismatches(truth, got) + field_mismatches(truth, got))


def _with_page_scanned(data: bytes, number: int) -> bytes:
    """The PDF with page ``number`` (1-based) swapped for its scan (pdftoppm + img2pdf), the rest left as text."""
    import pikepdf

    from tests.corpus.pdf import scan

    with pikepdf.open(io.BytesIO(data)) as doc, pikepdf.open(io.BytesIO(scan(data))) as scanned:
        doc.pages.insert(number - 1, scanned.pages[number - 1])
        del doc.pages[number]
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


@pytest.mark.timeout(300)
def test_a_scanned_page_among_text_pages(parsed) -> None:
    """A scanned cover: a warning naming it, the report read exact; a scanned table page: errors, never silence."""
    d, upright = next((d, r) for d, r in parsed if d.layout == "pdf_text")
    cover = parse_document(_with_page_scanned(d.data, 1), "cover.pdf")
    assert [(i.code, i.severity) for i in cover.issues if i.code == "image_only"] == [("image_only", "warning")]
    assert "pages 1 " in next(i.message for i in cover.issues if i.code == "image_only")
    assert cover.values() == upright.values() and not cover.has_errors
    table_page = upright.cells["applications.new_received.total"].page
    lost = parse_document(_with_page_scanned(d.data, table_page), "table.pdf")
    assert lost.has_errors and "applications.new_received.total" not in lost.cells


def test_garbage_text_is_told_from_text() -> None:
    from extract.readers.pdf import _garbage

    assert _garbage("政府信息公开工作年度报告。全年共受理政府信息公开申请12件，均在法定期限内予以答复。") is None
    assert _garbage("Annual report on government information disclosure of the city, year 2023.") is None  # English
    assert _garbage("\x0cEy\x83\x05\x90\x04革à\x13\x11\x13\x13'\rpý³ÃA'\x8e\x83z日\"/\x13\x11\x13\x14\x0e\x11") is not None
    assert _garbage("!\"#$%&'()*+,-./0123 !#$%&'()*+ ,-./!\"#$%&'()") is not None  # glyph ids read as ASCII symbols
