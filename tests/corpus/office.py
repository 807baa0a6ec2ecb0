"""Known truth written as Office files by the real tools: DOCX by python-docx, XLSX by openpyxl, .doc/.xls by LibreOffice.

The tables are the same grids the HTML pages are made of (``tables.report_grids``): merged cells become
real Word merges (``gridSpan`` and ``vMerge`` through python-docx's ``merge``) and real Excel merged
ranges; a table is split into two Word tables at a page break where no merge crosses the cut; values
follow the layout's style (full-width digits, blank markers); in XLSX some numbers are stored as text.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .layouts import GeneratedDoc
from .pages import PROBLEMS, cn_date, contact_of, intro, opening_sentence, paragraph, title_of
from .tables import Grid, Style, TCell, report_grids

OFFICE_LAYOUTS = ("docx_template", "docx_fullwidth", "docx_blank_markers", "docx_split", "xlsx_sheets", "xlsx_one_sheet")


def _slots(g: Grid) -> list[tuple[int, int, TCell]]:
    """(row, column, cell) of each cell's top-left slot, spans expanded like HTML's table model."""
    taken: set[tuple[int, int]] = set()
    out = []
    for r, row in enumerate(g.rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            out.append((r, c, cell))
            taken.update((r + dr, c + dc) for dr in range(cell.rowspan) for dc in range(cell.colspan))
            c += cell.colspan
    return out


def _free_cuts(g: Grid) -> list[int]:
    """Row boundaries (cut before row k) that no vertical merge crosses, past the header rows."""
    crossing = {r + d for r, _, cell in _slots(g) for d in range(1, cell.rowspan)}
    return [k for k in range(max(g.header_rows, 1) + 1, len(g.rows)) if k not in crossing]


def _lines(truth: dict[str, Any], rng: random.Random, title: str) -> tuple[list[str], list[str]]:
    """The narrative before the tables and after them, one paragraph each."""
    before = [title, intro(truth, contact_of(truth, title, rng)), "一、总体情况",
              opening_sentence(truth) + paragraph(truth, rng), paragraph(truth, rng)]
    after = ["五、存在的主要问题及改进情况", paragraph(truth, rng, PROBLEMS), "六、其他需要报告的事项", "无。",
             truth["agency"], cn_date(truth["published"])]
    return before, after


def _word_table(doc, g: Grid, rows: range) -> None:
    table = doc.add_table(rows=len(rows), cols=g.width)
    table.style = "Table Grid"
    for r, c, cell in _slots(g):
        if r not in rows:
            continue
        target = table.cell(r - rows.start, c)
        if cell.rowspan > 1 or cell.colspan > 1:
            last_row = min(r + cell.rowspan - 1, rows.stop - 1) - rows.start
            target = target.merge(table.cell(last_row, c + cell.colspan - 1))
        target.text = cell.text


def docx_bytes(truth: dict[str, Any], style: Style, rng: random.Random, split: bool = False) -> tuple[bytes, str]:
    """(the DOCX, its title) of ``truth``; ``split`` cuts each table that allows it into two at a page break."""
    import docx
    from docx.enum.text import WD_BREAK

    title = title_of(truth, rng)
    doc = docx.Document()
    doc.core_properties.title = title
    before, after = _lines(truth, rng, title)
    for text in before:
        doc.add_paragraph(text)
    for g in report_grids(truth, style, rng):
        doc.add_paragraph(g.title)
        cuts = _free_cuts(g) if split else []
        if cuts:
            k = rng.choice(cuts)
            _word_table(doc, g, range(0, k))
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            _word_table(doc, g, range(k, len(g.rows)))
        else:
            _word_table(doc, g, range(len(g.rows)))
    for text in after:
        doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue(), title


def _excel_value(cell: TCell, rng: random.Random) -> Any:
    """A value cell as a number, or (now and then, as many sheets do) as the number's text."""
    text = cell.text
    if cell.key is None or rng.random() < 0.4:
        return text or None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text or None


def xlsx_bytes(truth: dict[str, Any], style: Style, rng: random.Random, sheets: bool = True) -> tuple[bytes, str]:
    """(the XLSX, its title): narrative lines in column A, each table below its heading with its merged ranges;
    ``sheets``: each table on a sheet of its own (the narrative on the first, the closing lines on the last)."""
    import openpyxl

    title = title_of(truth, rng)
    book = openpyxl.Workbook()
    book.properties.title = title
    ws = book.active
    row = 1
    before, after = _lines(truth, rng, title)
    for text in before:
        ws.cell(row, 1, text)
        row += 1
    for i, g in enumerate(report_grids(truth, style, rng)):
        if sheets and i:
            ws, row = book.create_sheet(f"表{i + 1}"), 1
        ws.cell(row, 1, g.title)
        row += 1
        for r, c, cell in _slots(g):
            ws.cell(row + r, c + 1, _excel_value(cell, rng))
            if cell.rowspan > 1 or cell.colspan > 1:
                ws.merge_cells(start_row=row + r, start_column=c + 1, end_row=row + r + cell.rowspan - 1,
                               end_column=c + cell.colspan)
        row += len(g.rows) + 1
    for text in after:
        ws.cell(row, 1, text)
        row += 1
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue(), title


def render_office(truth: dict[str, Any], layout: str, rng: random.Random, name: str | None = None) -> GeneratedDoc:
    """``truth`` written in one of ``OFFICE_LAYOUTS``."""
    if layout.startswith("docx_"):
        style = Style(fullwidth=layout == "docx_fullwidth", blank_markers=layout == "docx_blank_markers")
        data, _ = docx_bytes(truth, style, rng, split=layout == "docx_split")
        ext = "docx"
    elif layout.startswith("xlsx_"):
        data, _ = xlsx_bytes(truth, Style(), rng, sheets=layout == "xlsx_sheets")
        ext = "xlsx"
    else:
        raise ValueError(f"unknown office layout {layout!r}; known: {', '.join(OFFICE_LAYOUTS)}")
    return GeneratedDoc(name or f"{layout}.{ext}", data, {}, truth, layout)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_all(docs: list[GeneratedDoc], target: str, timeout: float = 300) -> list[GeneratedDoc]:
    """The documents converted by one LibreOffice run (``doc`` from DOCX, ``xls`` from XLSX), truth kept."""
    binary = soffice()
    if binary is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: `make setup` installs it")
    with tempfile.TemporaryDirectory(prefix="corpus-convert-") as tmp:
        folder = Path(tmp)
        paths = []
        for i, d in enumerate(docs):
            p = folder / f"{i:04d}.{d.name.rsplit('.', 1)[1]}"
            p.write_bytes(d.data)
            paths.append(p)
        subprocess.run([binary, "--headless", "--norestore", f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                        "--convert-to", target, "--outdir", str(folder / "out"), *map(str, paths)],
                       check=True, capture_output=True, timeout=timeout, env={"HOME": tmp, "PATH": "/usr/bin:/bin"})
        return [GeneratedDoc(d.name.rsplit(".", 1)[0] + f".{target}", (folder / "out" / f"{p.stem}.{target}").read_bytes(), {},
                             d.truth, d.layout + f"_as_{target}") for d, p in zip(docs, paths)]
