"""PDF reports (Word/WPS exports, CMS-printed PDFs) → tokens, with PDFium (pypdfium2) for characters and ruling lines.

Per page: every character with its box, and every path object thin enough to be a ruling line.
Ruled tables are rebuilt as grids (``pdf_grid``): each cell one token at its top-left slot, with its
page and box; the rest of the text becomes one token per paragraph (the lines the page wrapped joined
back, ``pdf_text``), top to bottom. A table that runs on
at the top of the next page (same columns, nothing between) continues the same grid, without the
header rows it repeats. Page headers and footers (lines in the top or bottom margin that repeat
across pages, or read as a page number) are dropped. Pages are read in display orientation
(``/Rotate`` applied), so landscape pages read like portrait ones.

What cannot be read is an error, never numbers: no text at all, only images (``image_only``: a scan;
a warning naming the pages when only some are images, as a scanned seal page: the table reader still
flags any table those pages held as missing), text that is not text (``unreadable_text_layer``: fonts without a Unicode map give control
characters and stray Latin instead of Chinese), a PDF PDFium cannot open (``decode_failure``), one
that needs a password (``encrypted_document``), or more pages than ``extract.limits.MAX_PDF_PAGES``.
PDFium is not thread-safe: one lock around each document.
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from collections import defaultdict

from extract.limits import MAX_PAGE_OBJECTS, MAX_PDF_PAGES, InputTooLarge, check_tokens
from extract.model import ERROR, WARNING, Issue
from extract.readers import ReadResult
from extract.readers.pdf_grid import THIN, Grid, segments, tables
from extract.readers.pdf_text import (
    Paragraphs,
    cell_text,
    lines_of,
    mark_margins,
    page_bodies,
)
from extract.tokens import Token

_WORD_TITLE = re.compile(r"^(?:Microsoft Word|WPS Office|Microsoft Excel)\s*-\s*|\.(?:docx?|wps|pdf)$", re.I)
_LOCK = threading.Lock()


def read(data: bytes) -> ReadResult:
    import pypdfium2 as pdfium

    res = ReadResult()
    cut = b"%%EOF" not in data[-2048:]
    with _LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
                res.issues.append(Issue("encrypted_document", ERROR, "the PDF is encrypted with a password: not readable"))
            else:
                res.issues.append(Issue("decode_failure", ERROR, f"PDFium cannot open the PDF: {exc}"
                                        + (" (it does not end with %%EOF: cut short?)" if cut else "")))
            return res
        if cut:
            res.issues.append(Issue("input_truncated", WARNING, "the PDF does not end with %%EOF: cut short? (read as far as it goes)"))
        try:
            _read_doc(doc, res)
        finally:
            doc.close()
    return res


def _read_doc(doc, res: ReadResult) -> None:
    n = len(doc)
    if n > MAX_PDF_PAGES:
        raise InputTooLarge(f"{n} pages, more than the parser's limit of {MAX_PDF_PAGES} (extract.limits.MAX_PDF_PAGES): not parsed")
    title = (doc.get_metadata_dict().get("Title") or "").strip()
    res.title = _WORD_TITLE.sub("", title).strip() or None
    pages = []
    scanned = []
    for i in range(n):
        page = doc[i]
        try:
            lines, grids, images = _read_page(page)
        finally:
            page.close()
        if not lines and not grids and images:
            scanned.append(i + 1)
        pages.append((lines, grids))
    text = "".join(ch for lines, grids in pages for ln in lines for ch in ln[4])
    text += "".join(ch[4] for _, grids in pages for g in grids for cell in g.cells for ch in cell.chars)
    if scanned and len(scanned) == n:
        res.issues.append(Issue("image_only", ERROR, f"all {n} pages are images without a text layer (a scan): needs OCR"))
        return
    if bad := _garbage(text):
        res.issues.append(Issue("unreadable_text_layer", ERROR, f"the text layer is not readable text ({bad}): the fonts "
                                "have no Unicode map; needs OCR"))
        return
    if scanned:
        res.issues.append(Issue("image_only", WARNING, f"pages {', '.join(map(str, scanned))} are images without a text layer: "
                                "what they hold is not read"))
    _tokens(pages, res)


def _garbage(text: str) -> str | None:
    """Why the text layer is garbage, or None: control or private-use characters, or neither Chinese nor Latin words."""
    chars = [c for c in text if not c.isspace()]
    if len(chars) < 20:
        return None
    bad = sum(1 for c in chars if unicodedata.category(c) in ("Cc", "Co", "Cn", "Cs") or c == "\ufffd" or "\xc0" <= c <= "\xff")
    cjk = sum(1 for c in chars if "\u4e00" <= c <= "\u9fff")
    if bad > 0.02 * len(chars):
        return f"{bad} of {len(chars)} characters are control, private-use or stray Latin-1 letters"
    letters = sum(1 for c in chars if c.isascii() and c.isalpha())
    if cjk < 0.1 * len(chars) and letters < 0.6 * len(chars):  # (mostly Latin words: a document in English, readable)
        return f"only {cjk} of {len(chars)} characters are Chinese, and the rest are no words"
    return None


def _view(page):
    """(a function mapping PDF points (x, y up) to display points (x, top down) with the page's /Rotate applied,
    the display height): coordinates on the page as a reader sees it, landscape or not."""
    left, bottom, right, top = page.get_bbox()  # (the visible box, inherited from the page tree where need be)
    rot = page.get_rotation() % 360
    if rot == 90:
        return lambda x, y: (y - bottom, x - left), right - left
    if rot == 180:
        return lambda x, y: (right - x, y - bottom), top - bottom
    if rot == 270:
        return lambda x, y: (top - y, right - x), right - left
    return lambda x, y: (x - left, top - y), top - bottom


def _box(view, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
    ax, ay = view(left, bottom)
    bx, by = view(right, top)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def _read_page(page) -> tuple[list, list[Grid], int]:
    """(text lines outside tables, the page's grids with their characters, image count)."""
    import pypdfium2.raw as raw

    view, height = _view(page)
    rules, images = _path_boxes(page, view, raw)
    grids = tables(*segments(rules))
    tp = page.get_textpage()
    try:
        n = tp.count_chars()
        check_tokens(n)
        text = tp.get_text_range(0, n) if n else ""
        per_char = len(text) != n  # (surrogate pairs: read one by one)
        rect = raw.FS_RECTF()
        loose = []
        for i in range(n):
            ch = chr(raw.FPDFText_GetUnicode(tp, i)) if per_char else text[i]
            if ch.isspace() and (ch != " " or raw.FPDFText_IsGenerated(tp, i)) or not raw.FPDFText_GetLooseCharBox(tp, i, rect):
                continue  # (a space PDFium made up from a gap is told from the gap itself)
            box = _box(view, rect.left, rect.bottom, rect.right, rect.top)  # (the box of the glyph's advance: no gaps inside words)
            if box[2] - box[0] <= 0 and box[3] - box[1] <= 0:
                continue
            item = (*box, ch)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            for g in grids:
                if g.box[0] <= cx <= g.box[2] and g.box[1] <= cy <= g.box[3]:
                    cell = g.cell_at(cx, cy)
                    if cell is not None:
                        cell.chars.append(item)
                        break
            else:
                loose.append(item)
    finally:
        tp.close()
    return mark_margins(lines_of(loose), height), grids, images


def _path_boxes(page, view, raw) -> tuple[list[tuple[float, float, float, float]], int]:
    """Boxes of the page's path objects (ruling lines are thin ones), and how many images it has."""
    boxes = []
    images = 0
    l, b, r, t = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    count = raw.FPDFPage_CountObjects(page)
    if count > MAX_PAGE_OBJECTS:
        raise InputTooLarge(f"a page with {count} objects, more than the parser's limit of {MAX_PAGE_OBJECTS} "
                            "(extract.limits.MAX_PAGE_OBJECTS): not parsed")
    for i in range(count):
        obj = raw.FPDFPage_GetObject(page, i)
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_IMAGE:
            images += 1
        elif kind == raw.FPDF_PAGEOBJ_PATH and raw.FPDFPageObj_GetBounds(obj, l, b, r, t):
            if min(r.value - l.value, t.value - b.value) <= THIN:
                boxes.append(_box(view, l.value, b.value, r.value, t.value))
            else:  # a larger path: one that draws many lines at once (a whole grid), or a cell's outline or shading
                boxes.extend(_stroked_lines(obj, view, raw))
    return boxes, images


def _stroked_lines(obj, view, raw) -> list[tuple[float, float, float, float]]:
    """The straight horizontal and vertical pieces a stroked path draws (thin boxes of its subpaths when filled)."""
    n = raw.FPDFPath_CountSegments(obj)
    fill, stroke = ctypes.c_int(), raw.FPDF_BOOL()
    if n <= 0 or n > MAX_PAGE_OBJECTS or not raw.FPDFPath_GetDrawMode(obj, fill, stroke):
        return []
    m = raw.FS_MATRIX()
    raw.FPDFPageObj_GetMatrix(obj, m)
    x, y = ctypes.c_float(), ctypes.c_float()
    subpaths: list[list[tuple[float, float]]] = []
    for i in range(n):
        seg = raw.FPDFPath_GetPathSegment(obj, i)
        raw.FPDFPathSegment_GetPoint(seg, x, y)
        point = (m.a * x.value + m.c * y.value + m.e, m.b * x.value + m.d * y.value + m.f)
        if raw.FPDFPathSegment_GetType(seg) == raw.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([point])
        else:  # (a curve's control points count as corners: its pieces are rarely straight and level)
            subpaths[-1].append(point)
        if raw.FPDFPathSegment_GetClose(seg):
            subpaths[-1].append(subpaths[-1][0])
    out = []
    for points in subpaths:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = _box(view, min(xs), min(ys), max(xs), max(ys))
        if min(box[2] - box[0], box[3] - box[1]) <= THIN:
            out.append(box)  # a thin rectangle or a single line
        elif stroke.value:
            out.extend(_box(view, min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
                       for a, b in zip(points, points[1:]) if abs(a[0] - b[0]) <= THIN or abs(a[1] - b[1]) <= THIN)
    return out


def _tokens(pages: list, res: ReadResult) -> None:
    """The pages' lines and grids as one token stream, headers/footers dropped, tables run on across pages joined."""
    out = res.tokens
    para = Paragraphs(out)
    last: tuple[int, list, int, int] | None = None  # (token table, its columns, its rows, its header rows' texts) open at the page end
    for page_no, (body, (_, grids)) in enumerate(zip(page_bodies([lines for lines, _ in pages]), pages), start=1):
        items = sorted([(ln[1], 0, ln) for ln in body] + [(g.box[1], 1, g) for g in grids], key=lambda it: (it[0], it[1]))
        para.page(body)
        for k, (_, is_grid, item) in enumerate(items):
            if not is_grid:
                para.add(item)
                last = None
                continue
            para.flush()
            rows = _rows(item)
            run_on = last is not None and k == 0 and _same_columns(last[1], item.xs)
            if run_on:
                table, _, offset, head = last
                rows = _without_repeated_header(rows, head)
            else:
                table, offset, head = res.tables, 0, [[text for _, text in row] for _, row in rows[:3]]
                res.tables += 1
            for r, row in rows:
                for cell, text in row:
                    out.append(Token(text, table, offset + r, cell.col, page=page_no, bbox=tuple(round(v, 2) for v in cell.box)))
            check_tokens(len(out))
            end = offset + (rows[-1][0] + 1 if rows else 0)
            last = (table, item.xs, end, head)
            para.line_no += 1
        if items and items[-1][1] == 0:
            last = None
    para.flush()


def _rows(grid: Grid) -> list[tuple[int, list]]:
    """The grid's cells by the row of their top-left slot: [(row, [(cell, text)])], first row renumbered 0."""
    by_row: dict[int, list] = defaultdict(list)
    for cell in grid.cells:
        by_row[cell.row].append((cell, cell_text(cell)))
    return [(r, by_row[r]) for r in sorted(by_row)]


def _same_columns(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 3 for x, y in zip(a, b))


def _without_repeated_header(rows: list, head: list[list[str]]) -> list:
    """The rows of a table's continuation without the header rows it repeats (a <thead>, Word's 'repeat header row')."""
    k = 0
    while k < len(rows) - 1 and k < len(head) and [text for _, text in rows[k][1]] == head[k] and any(head[k]):
        k += 1
    return [(r - (rows[k][0] if k < len(rows) else 0), row) for r, row in rows[k:]]
