"""XLSX with openpyxl: each sheet a grid of tokens, a merged cell's value once at its top-left slot.

openpyxl leaves the slots a merged range covers as ``MergedCell`` without a value: they give no token, as
a ``rowspan``/``colspan`` slot gives none in HTML. Every other slot of the sheet's used rectangle gives a
token, an empty one for an empty cell, so blank cells keep their place. Numbers are written back as text
without float noise (``35270.94``, ``12``); numbers stored as text come as the text they are. Formulas
give the value Excel cached (``data_only``). The workbook's title property is ``title``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from io import BytesIO

from extract.limits import check_tables, check_tokens
from extract.model import ERROR, Issue
from extract.readers import ReadResult
from extract.readers.ooxml import OoxmlError, check_package, open_package
from extract.tokens import Token


def read(data: bytes) -> ReadResult:
    res = ReadResult()
    try:
        check_package(open_package(data))
    except OoxmlError as exc:
        res.issues.append(Issue(exc.code, ERROR, str(exc)))
        return res
    import openpyxl  # (imported on first use: HTML parsing never pays for it)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (openpyxl warns about styles and extensions it drops)
            book = openpyxl.load_workbook(BytesIO(data), data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on damaged packages; the reason is kept
        res.issues.append(Issue("decode_failure", ERROR, f"the workbook cannot be read: {type(exc).__name__}: {exc}"))
        return res
    res.title = (book.properties.title or "").strip() or None
    for sheet in book.worksheets:
        res.tables += 1
        check_tables(res.tables)
        _sheet(sheet, res.tables - 1, res.tokens)
    return res


def _sheet(sheet, index: int, out: list) -> None:
    cells = {pos: cell for pos, cell in sheet._cells.items() if cell.value is not None}  # (sparse: no walk of empty rows)
    if not cells:
        return
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    top, bottom, left, right = min(rows), max(rows), min(cols), max(cols)
    check_tokens(len(out) + (bottom - top + 1) * (right - left + 1) - _covered(sheet))
    covered = {(r, c) for rng in sheet.merged_cells.ranges for r, c in rng.cells if (r, c) != (rng.min_row, rng.min_col)}
    for r in range(top, bottom + 1):
        for c in range(left, right + 1):
            if (r, c) not in covered:
                cell = cells.get((r, c))
                out.append(Token(_text(cell.value) if cell is not None else "", index, r - top, c - left))


def _covered(sheet) -> int:
    return sum(rng.size["rows"] * rng.size["columns"] - 1 for rng in sheet.merged_cells.ranges)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return " ".join(str(value).split())
