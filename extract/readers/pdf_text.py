"""The text of a PDF page: characters into lines, lines into paragraphs, cells' lines into one text; headers and footers.

A line is [x0, top, x1, bottom, text, in_margin] in display points (top down). Characters are put in lines by
their vertical middle and in order by x; a gap wider than half the height between two is a space.
"""

from __future__ import annotations

import re
from collections import defaultdict

from extract.tokens import Token, split_line

MARGIN = 0.075  # share of the page height at the top and bottom where headers and footers sit
_PAGE_NUMBER = re.compile(r"^[-—－–\s]*(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|\d+|page\s*\d+(?:\s*of\s*\d+)?)[-—－–\s]*$", re.I)
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(" {2,}")


def lines_of(chars: list) -> list[list]:
    """Characters as lines: [x0, top, x1, bottom, text], top to bottom; a gap wider than half the height is a space."""
    chars.sort(key=lambda c: (c[1] + c[3]) / 2)
    rows: list[list] = []
    for c in chars:
        cy, h = (c[1] + c[3]) / 2, c[3] - c[1]
        if rows and abs(cy - rows[-1][0]) <= max(h, rows[-1][1]) * 0.5:
            rows[-1][2].append(c)
        else:
            rows.append([cy, h, [c]])
    out = []
    for _, _, cs in rows:
        cs.sort(key=lambda c: c[0])
        out.append([min(c[0] for c in cs), min(c[1] for c in cs), max(c[2] for c in cs), max(c[3] for c in cs), _join(cs)])
    return out


def _join(cs: list) -> str:
    parts = [cs[0][4]]
    for prev, c in zip(cs, cs[1:]):
        if c[0] - prev[2] > (c[3] - c[1]) / 2 and prev[4] != " " and c[4] != " ":
            parts.append(" ")
        parts.append(c[4])
    return _SPACES.sub(" ", "".join(parts)).strip()


def mark_margins(lines: list, height: float) -> list:
    """Lines tagged [..., in_margin] where they sit in the top or bottom margin (header and footer candidates)."""
    return [[*ln, ln[3] < height * MARGIN or ln[1] > height * (1 - MARGIN)] for ln in lines]


def cell_text(cell) -> str:
    """A cell's lines joined (a wrapped label is one label)."""
    if not cell.chars:
        return ""
    return _glue([ln[4] for ln in lines_of(cell.chars)])


def _glue(lines: list[str]) -> str:
    """Wrapped lines as one text: nothing between Chinese, a space between two ASCII words."""
    out = lines[0]
    for ln in lines[1:]:
        out += " " + ln if out[-1:].isascii() and out[-1:].isalnum() and ln[:1].isascii() and ln[:1].isalnum() else ln
    return out


def page_bodies(pages: list[list]) -> list[list]:
    """Each page's lines without its header and footer: lines in the top or bottom margin that repeat on other
    pages (numbers aside: 第 3 页 is 第 # 页) or read as a page number."""
    repeated: dict[str, int] = defaultdict(int)
    for lines in pages:
        for key in {_DIGITS.sub("#", ln[4]) for ln in lines if ln[5]}:
            repeated[key] += 1
    return [[ln for ln in lines if not (ln[5] and (repeated[_DIGITS.sub("#", ln[4])] > 1 or _PAGE_NUMBER.match(ln[4])))]
            for lines in pages]


_NEW_ITEM = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．])")


class Paragraphs:
    """Text lines joined into paragraphs, each one token line: a line that fills the text width runs on into the next
    (a word or a number the page wrapped, or "…特向社" / "会公布本机关2021年…" read as a title). A line that is indented
    or starts a numbered item begins a new one; so does a table."""

    def __init__(self, out: list[Token]) -> None:
        self.out = out
        self.line_no = 0
        self.parts: list[str] = []
        self.open = False  # the last line filled the width: the next may continue it
        self.bottom = self.height = 0.0
        self.left = self.right = 0.0
        self.first_on_page = False

    def page(self, body: list) -> None:
        self.left = min((ln[0] for ln in body), default=0.0)
        self.right = max((ln[2] for ln in body), default=0.0)
        self.first_on_page = True

    def add(self, ln: list) -> None:
        h = ln[3] - ln[1]
        follows = self.first_on_page or 0 <= ln[1] - self.bottom < 0.8 * h
        if not (self.open and follows and abs(h - self.height) <= 0.25 * h and ln[0] <= self.left + h
                and not _NEW_ITEM.match(ln[4])):
            self.flush()
        self.parts.append(ln[4])
        self.open = ln[2] >= self.right - 1.5 * h
        self.bottom, self.height, self.first_on_page = ln[3], h, False

    def flush(self) -> None:
        if self.parts:
            split_line(_glue(self.parts), self.line_no, self.out)
            self.line_no += 1
            self.parts = []
        self.open = False
