"""Documents as a stream of tokens: one token per table cell or text line, in reading order.

Every input style reduces to this stream so one matcher (``extract.tables``) reads them all:
HTML tables become their cells (rowspan/colspan expanded on a dense grid, each cell once at its
top-left slot); text outside tables becomes one token per line; plain-text pages give one token
per line (seeds 000/001), per ``|``-separated cell (seeds 002/003 put one cell per line, html2text
puts a row per line: ``规章 | 2 | 0 | 7``), or a label followed by the numbers on the same line
(``规章 0 0 0``).

An empty cell of scraped text is an empty token (text ``""``): nothing between two separators
(``2 |  | 7``), a cell line holding only its separator (`` |``), or a longer gap of blank lines than the
page's usual spacing between lines. Where a blank may instead be layout (a bare ``|`` line, which also
separates rows; a blank line; the empty piece before or after a row's outer separators) it is ``soft``:
``extract.tables`` counts it only where the template's cell count needs it and its position is certain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extract.limits import MAX_TOKENS, check_lines, check_tokens
from extract.values import is_number_cell


@dataclass(slots=True)
class Token:
    text: str
    table: int | None = None  # grid index for HTML table cells
    row: int = 0  # grid row (HTML cell) or line number (text)
    col: int | None = None  # grid column of the cell's top-left slot
    soft: bool = False  # an empty text cell that may be layout instead (see the module docstring)
    page: int | None = None  # PDF: the 1-based page the cell is on
    bbox: tuple[float, float, float, float] | None = None  # PDF: the cell's box (x0, top, x1, bottom) in points

    @property
    def grid_row(self) -> tuple[int, int] | None:
        return (self.table, self.row) if self.table is not None else None


_WS_SPLIT = re.compile(r"[ \t\u3000\u00a0]+")


def split_line(line: str, row: int, out: list[Token]) -> None:
    """A text line as tokens: ``label v v v`` (or ``v v v``) split, anything else kept whole."""
    s = line.strip()
    if not s:
        return
    if " " not in s and "\t" not in s and "\u3000" not in s and "\xa0" not in s:
        out.append(Token(s, None, row))
        return
    parts = _WS_SPLIT.split(s, MAX_TOKENS)  # (bounded: a line of a million numbers is not split into them all)
    check_tokens(len(parts))
    if len(parts) > 1 and is_number_cell(parts[-1]):
        k = len(parts)
        while k > 0 and is_number_cell(parts[k - 1]):
            k -= 1
        label = " ".join(parts[:k])
        if label:
            out.append(Token(label, None, row))
        out.extend(Token(p, None, row) for p in parts[k:])
        check_tokens(len(out))
        return
    out.append(Token(s, None, row))


_LINE_BREAKS = ("\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")  # where str.splitlines splits


def _usual_gap(lines: list[str]) -> int:
    """The most common run of blank lines between two text lines (0: lines follow each other)."""
    runs: dict[int, int] = {}
    gap = 0
    for ln in lines:
        if ln.strip():
            runs[gap] = runs.get(gap, 0) + 1
            gap = 0
        else:
            gap += 1
    return max(runs, key=lambda g: (runs[g], -g)) if runs else 0


def _piped(ln: str, i: int, out: list[Token], rows: bool, bordered: bool) -> None:
    """A line with ``|`` separators: its cells, empty ones included (see the module docstring). ``rows``: the page
    writes a row per line (``规章 | 2 | ``: an empty piece after the last separator may be a cell), not a cell
    per line (``2 |``: the separator ends the cell); ``bordered``: rows are written ``| a | b |`` (markdown), so
    the pieces outside the outer separators are no cells."""
    s = ln.strip()
    if not s.strip("| \t\u3000"):
        if s.count("|") == 1:  # a cell line holding only its separator (" |"); a bare "|" may separate rows instead
            out.append(Token("", None, i, None, ln.rstrip() == "|"))
        return
    pieces = [p.strip() for p in s.split("|", MAX_TOKENS)]  # (bounded, as in split_line)
    last = len(pieces) - 1
    for j, cell in enumerate(pieces):
        if cell:
            out.append(Token(cell, None, i))
        elif 0 < j < last:
            out.append(Token("", None, i))
        elif not bordered and rows:
            out.append(Token("", None, i, None, True))  # "规章 | 2 | " or " | 0 | 3": an empty outer cell, or layout


def _piped_style(lines: list[str]) -> tuple[bool, bool]:
    """(a row per line, bordered): whether more piped lines hold several cells (``规章 | 2 | 0``) than one
    (``2 |``: a cell per line, seeds 002/003), and whether most of those rows are bordered (``| 规章 | 2 |``)."""
    several = one = bordered = 0
    for ln in lines:
        if "|" in ln:
            n = sum(1 for p in ln.split("|") if p.strip())
            several += n > 1
            one += n == 1
            s = ln.strip()
            bordered += n > 1 and s.startswith("|") and s.endswith("|")
    return several > one, bordered * 2 > several


def text_tokens(text: str) -> list[Token]:
    """Tokens of a plain-text page."""
    check_lines(text, _LINE_BREAKS)  # (an upper bound: CRLF counts twice)
    lines = text.splitlines()
    piped = sum(1 for ln in lines if "|" in ln)
    out: list[Token] = []
    if piped >= 10:
        rows, bordered = _piped_style(lines)
        for i, ln in enumerate(lines):
            if "|" in ln:
                _piped(ln, i, out, rows, bordered)
            else:
                split_line(ln, i, out)
            check_tokens(len(out))
        return out
    usual = _usual_gap(lines)
    gap = 0
    for i, ln in enumerate(lines):
        if not ln.strip():
            gap += 1
            continue
        if gap > usual:  # each empty cell adds one line and the usual gap after it
            out.extend(Token("", None, i, None, True) for _ in range((gap - usual) // (usual + 1)))
        gap = 0
        split_line(ln, i, out)
    check_tokens(len(out))
    return out
