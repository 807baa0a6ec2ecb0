"""Documents as a stream of tokens: one token per table cell or text line, in reading order.

Every input style reduces to this stream so one matcher (``extract.tables``) reads them all:
HTML tables become their cells (rowspan/colspan expanded on a dense grid, each cell once at its
top-left slot); text outside tables becomes one token per line; plain-text pages give one token
per line (seeds 000/001), per ``|``-separated cell (seeds 002/003 put one cell per line, html2text
puts a row per line: ``规章 | 2 | 0 | 7``), or a label followed by the numbers on the same line
(``规章 0 0 0``).
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


def text_tokens(text: str) -> list[Token]:
    """Tokens of a plain-text page."""
    check_lines(text, _LINE_BREAKS)  # (an upper bound: CRLF counts twice)
    lines = text.splitlines()
    piped = sum(1 for ln in lines if "|" in ln)
    out: list[Token] = []
    if piped >= 10:
        for i, ln in enumerate(lines):
            if "|" in ln:
                for cell in ln.split("|", MAX_TOKENS):
                    if cell.strip():
                        out.append(Token(cell.strip(), None, i))
            else:
                split_line(ln, i, out)
            check_tokens(len(out))
        return out
    for i, ln in enumerate(lines):
        split_line(ln, i, out)
    check_tokens(len(out))
    return out
