"""DOCX: ``word/document.xml`` read with lxml into the token stream, each merged cell once at its top-left slot.

python-docx repeats a merged cell's text in every grid slot it covers, which the table reader would take for
values; here the WordprocessingML is read directly: ``gridSpan`` widens a cell, a ``vMerge`` continuation
(no ``restart``) is a slot the cell above covers and gives no token, ``gridBefore`` skips leading slots.
Two tables with nothing but empty paragraphs between them and the same grid width are one table split at
a page break: their rows continue one grid. Paragraphs outside tables give a token per line (``w:br``
ends a line); inside a cell paragraphs and breaks read as spaces. Headers, footers, deleted text and
field codes and the fallback copy of a text box are not read. The core properties' title is ``title``.

The archive is checked before anything is inflated (``extract.readers.ooxml``): member sizes, ratios and
counts (zip bombs) and the table count (``extract.limits``).
"""

from __future__ import annotations

import re

from lxml import etree

from extract.limits import InputTooLarge, check_tables, check_tokens
from extract.model import ERROR, Issue
from extract.readers import ReadResult
from extract.readers.ooxml import OoxmlError, core_title, open_package, read_member, xml_parser
from extract.tokens import Token, split_line

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC, _T, _TAB, _BR, _CR, _SDT, _SDT_CONTENT = (W + n for n in ("p", "tbl", "tr", "tc", "t", "tab", "br", "cr", "sdt", "sdtContent"))
_VAL = W + "val"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_WS = re.compile(r"\s+")


def read(data: bytes) -> ReadResult:
    res = ReadResult()
    try:
        archive = open_package(data)
        root = etree.fromstring(read_member(archive, "word/document.xml"), xml_parser())
        res.title = core_title(archive)
    except OoxmlError as exc:
        res.issues.append(Issue(exc.code, ERROR, str(exc)))
        return res
    except etree.XMLSyntaxError as exc:
        res.issues.append(Issue("decode_failure", ERROR, f"word/document.xml is not well-formed XML: {exc}"))
        return res
    for fallback in list(root.iter(_FALLBACK)):  # (a text box is written twice: for new Word and as a fallback)
        fallback.getparent().remove(fallback)
    body = root.find(W + "body")
    if body is not None:
        _read_body(body, res)
    return res


def _blocks(body: etree._Element) -> list[etree._Element]:
    """Paragraphs and tables of the body in order, content controls (``w:sdt``) opened."""
    out: list[etree._Element] = []
    stack = list(reversed(body))
    while stack:
        el = stack.pop()
        if el.tag == _SDT:
            content = el.find(_SDT_CONTENT)
            if content is not None:
                stack.extend(reversed(content))
        elif el.tag in (_P, _TBL):
            out.append(el)
    return out


def _read_body(body: etree._Element, res: ReadResult) -> None:
    out = res.tokens
    line = 0
    table_rows = 0  # rows of the current grid so far (a split table continues it)
    last_width = None  # grid width of the table just read, while only empty paragraphs follow it
    for el in _blocks(body):
        if el.tag == _P:
            lines = _paragraph_lines(el)
            if any(lines):
                last_width = None
            for text in lines:
                split_line(text, line, out)
                line += 1
            check_tokens(len(out))
            continue
        width = _grid_width(el)
        if width != last_width or width < 0:
            res.tables += 1
            check_tables(res.tables)
            table_rows = 0
        rows = _table(el, res.tables - 1, table_rows, out)
        table_rows += rows
        line += rows
        last_width = width
        check_tokens(len(out))


def _grid_width(tbl: etree._Element) -> int:
    grid = tbl.find(W + "tblGrid")
    return len(grid) if grid is not None else -1


def _int_val(el: etree._Element | None, default: int) -> int:
    if el is None:
        return default
    try:
        return max(0, min(int(el.get(_VAL, default)), 64))  # (a span beyond the 63 columns Word allows is damage)
    except ValueError:
        return default


def _table(tbl: etree._Element, index: int, first_row: int, out: list[Token]) -> int:
    """The table's cells as tokens on grid ``index`` from row ``first_row``; returns its row count."""
    r = first_row
    for tr in tbl.iter(_TR):
        if tr.getparent() is not tbl and tr.getparent().tag != _SDT_CONTENT:
            continue  # a row of a table nested in a cell: its text is read with the cell
        trpr = tr.find(W + "trPr")
        c = _int_val(trpr.find(W + "gridBefore"), 0) if trpr is not None else 0
        for tc in tr.iter(_TC):
            if tc.getparent() is not tr and tc.getparent().tag != _SDT_CONTENT:
                continue
            span = 1
            tcpr = tc.find(W + "tcPr")
            if tcpr is not None:
                span = _int_val(tcpr.find(W + "gridSpan"), 1) or 1
                vmerge = tcpr.find(W + "vMerge")
                if vmerge is not None and vmerge.get(_VAL, "continue") != "restart":
                    c += span  # a slot the cell above covers: its value was given once, there
                    continue
            out.append(Token(_cell_text(tc), index, r, c))
            c += span
        r += 1
        check_tokens(len(out))
    return r - first_row


def _cell_text(tc: etree._Element) -> str:
    parts: list[str] = []
    for el in tc.iter(_T, _TAB, _BR, _CR, _P):
        if el.tag == _T:
            parts.append(el.text or "")
        else:
            parts.append(" ")
    return _WS.sub(" ", "".join(parts)).strip()


def _paragraph_lines(p: etree._Element) -> list[str]:
    """A paragraph's lines (``w:br`` / ``w:cr`` end one; a tab reads as a space)."""
    lines: list[str] = []
    parts: list[str] = []
    for el in p.iter(_T, _TAB, _BR, _CR):
        if el.tag == _T:
            parts.append(el.text or "")
        elif el.tag == _TAB:
            parts.append(" ")
        else:
            lines.append("".join(parts).strip())
            parts = []
    lines.append("".join(parts).strip())
    return lines
