"""HTML to tokens with lxml: one parse, one XSLT pass in C for the text, table cells read from the tree.

An XSLT stylesheet (libxslt) flattens the page into lines: block elements end lines, site
chrome (scripts, styles, nav, footers, share bars, menus, breadcrumbs) is dropped, and each
table without a nested table is written as one marker line. Python then reads that table's
cells straight from the tree onto a dense grid (rowspan/colspan expanded) and keeps the other
lines as text. Outer layout tables are read as ordinary blocks. Word-export markup (``<o:p>``,
MsoNormal spans) needs nothing special: only its text is kept, ``<br>``/``<p>`` inside a cell
read as a space. Text tokens are numbered by their line in the flattened page, where a table
counts one line for itself, one per row and one per cell.

Measured and kept out (issue #13, on the parse_speed corpus): the flattening as one tree walk in
Python, grids built as it meets them (the walk alone 2.6x the XSLT pass's time); the stylesheet
writing each grid's cells into the page text for Python to split (+8 % instructions, +12 % time for
this module); a table's spanning cells found by one XPath instead of each cell's attributes (+17 %).
"""

from __future__ import annotations

import re
import secrets
import threading
from functools import lru_cache

from lxml import etree

from extract.limits import check_lines, check_tags, check_tokens
from extract.tokens import Token, split_line

MAX_SPAN = 200  # larger rowspan/colspan values are markup errors; capped so a grid stays small
SPAN_BUDGET = 200_000  # grid slots that spans may cover per page; beyond it spans are ignored (an error)
_BLOCK = ("p div br li ul ol h1 h2 h3 h4 h5 h6 tr table tbody thead tfoot section article dl dt dd header "
          "blockquote pre center form hr title td th caption main aside address figure figcaption").split()
_CHROME = "x-chrome"  # site chrome containers are renamed to this for the XSLT pass, which drops it
_DROP = f"script style noscript iframe template svg select button object embed nav footer head {_CHROME}".split()
_CHROME_TAGS = ("div", "ul", "ol", "section", "aside", "header", "dl")  # chrome is looked for on containers only
_CHROME_WORDS = re.compile("share|crumb|nav|menu|footer|copyright|toolbar", re.I | re.A)  # in a class or id (ASCII case folded)
_CELL_SPACE = frozenset(("br", "p", "div", "li"))  # read as a space inside a cell
_CELL_DROP = frozenset(("script", "style"))
# inline markup, read as its text alone (like any tag but the two above): stripped from a table before
# its cells are read, so libxml2 joins the text of Word's <span><o:p> nests instead of a walk in Python
_CELL_INLINE = ("span", "font", "o:p", "b", "strong", "i", "em", "u", "a")
_INDEX = "x-table-index"  # attribute numbering the tables, so a marker line names its table
# a table's marker line; the random part keeps page text from ever passing for one
_MARK = f"\ue000{secrets.token_hex(6)}:"

_XSLT = etree.XSLT(etree.XML(f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="utf-8"/>
<xsl:template match="{'|'.join(_DROP)}"/>
<xsl:template match="table[not(.//table)]" priority="2">
  <xsl:text>&#10;{_MARK}</xsl:text><xsl:value-of select="@{_INDEX}"/><xsl:text>&#10;&#10;</xsl:text>
</xsl:template>
<xsl:template match="{'|'.join(_BLOCK)}"><xsl:text>&#10;</xsl:text><xsl:apply-templates/><xsl:text>&#10;</xsl:text></xsl:template>
</xsl:stylesheet>"""))

_WS = re.compile(r"\s+")
_WS_INNER = re.compile(r"\s\s|[^\S ]")  # whitespace that is not already single spaces
_WRAPPERS = re.compile(r"</?(?:div|span|font|section|article|center|b|i|strong|em|a|p)\b[^>]*>", re.I)
_PARSERS = threading.local()  # one lxml parser per thread: its error_log holds the last parse made with it


class HtmlResult:
    __slots__ = ("tokens", "title", "tables", "problem", "span_slots")

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.title: str | None = None
        self.tables = 0
        self.problem: tuple[str, str] | None = None
        self.span_slots = 0  # grid slots the page's spans claim, against SPAN_BUDGET


def _parser() -> etree.HTMLParser:
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True,
                                                    no_network=True, encoding="utf-8")
    return parser


def _parse(data: bytes) -> tuple[etree._Element | None, bool]:
    """(the tree or None, whether libxml2 stopped at its depth limit); bounded by MAX_TAGS before the tree is built."""
    check_tags(data)
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None, False
    return root, any("Excessive depth" in e.message for e in parser.error_log)


def _is_chrome(el: etree._Element) -> bool:
    css, ident = el.get("class"), el.get("id")
    return bool(css and _CHROME_WORDS.search(css) or ident and _CHROME_WORDS.search(ident))


def _flatten(root: etree._Element) -> tuple[str, list[etree._Element]] | None:
    """(the page as lines, its tables by index) — None when libxslt cannot walk the tree.

    Chrome containers are tested here rather than in the stylesheet (an XSLT predicate on every
    container costs more than the rest of the pass) and renamed for the pass only.
    """
    tables: list[etree._Element] = []
    chrome: list[tuple[etree._Element, str]] = []
    for el in root.iter("table", *_CHROME_TAGS):  # (one walk of the tree for both)
        if el.tag == "table":
            el.set(_INDEX, str(len(tables)))
            tables.append(el)
        elif _is_chrome(el):
            chrome.append((el, el.tag))
    for el, _ in chrome:
        el.tag = _CHROME
    try:
        return bytes(_XSLT(root)).decode("utf-8"), tables  # (str() would also search the text for an XML declaration)
    except etree.XSLTApplyError:  # e.g. template recursion deeper than libxslt allows
        return None
    finally:
        for el, tag in chrome:
            el.tag = tag


def _span(value: str) -> int:
    """A rowspan/colspan value as a count from 1 to MAX_SPAN."""
    try:
        n = int(value.strip().split(".")[0])
    except ValueError:
        return 1
    return min(max(n, 1), MAX_SPAN)


@lru_cache(maxsize=8192)
def _clean(text: str) -> str:
    """Cell text stripped, inner whitespace runs as one space (cached: labels and padded numbers repeat across pages)."""
    text = text.strip()
    return _WS.sub(" ", text) if _WS_INNER.search(text) else text


def _cell_text(td: etree._Element) -> str:
    """A cell's text: script/style dropped, ``br``/``p``/``div``/``li`` read as spaces (no recursion: depth is unbounded)."""
    if len(td) == 1:
        el = td[0]
        if not len(el):  # one wrapper (Word's <p>...): no walk needed
            tag = el.tag
            if tag in _CELL_DROP:
                return (td.text or "") + (el.tail or "")
            space = " " if tag in _CELL_SPACE else ""
            return f"{td.text or ''}{space}{el.text or ''}{space}{el.tail or ''}"
    parts = [td.text or ""]
    stack: list[tuple[object, etree._Element | None]] = [(iter(td), None)]
    while stack:
        children, owner = stack[-1]
        for el in children:  # type: ignore[attr-defined]
            tag = el.tag
            if tag in _CELL_DROP:
                if el.tail:
                    parts.append(el.tail)
                continue
            if tag in _CELL_SPACE:
                parts.append(" ")
            if el.text:
                parts.append(el.text)
            if len(el):
                stack.append((iter(el), el))
                break
            if tag in _CELL_SPACE:
                parts.append(" ")
            if el.tail:
                parts.append(el.tail)
        else:
            stack.pop()
            if owner is not None:
                if owner.tag in _CELL_SPACE:
                    parts.append(" ")
                if owner.tail:
                    parts.append(owner.tail)
    return "".join(parts)


def _grid(table: etree._Element, index: int, out: list[Token], res: HtmlResult) -> int:
    """Tokens of one table's cells, each at its top-left slot of the dense grid; returns rows + cells."""
    etree.strip_tags(table, *_CELL_INLINE)  # (after the XSLT pass: the page's text lines are already read)
    first = len(out)
    taken: dict[int, set[int]] = {}  # grid row -> columns a rowspan from a row above covers
    r = -1
    for tr in table.iter("tr"):
        r += 1
        check_tokens(len(out) + len(tr))
        c = 0
        row_taken = taken.get(r)
        for td in tr:  # (iterchildren with a tag filter costs more than testing the tag)
            tag = td.tag
            if tag != "td" and tag != "th":
                continue
            if row_taken:
                while c in row_taken:
                    c += 1
            cs = 1
            attrs = td.keys()
            if attrs and ("rowspan" in attrs or "colspan" in attrs):  # (Word and CMS cells carry other attributes)
                rs_text, cs_text = td.get("rowspan"), td.get("colspan")
                rs = _span(rs_text) if rs_text and rs_text != "1" else 1
                cs = _span(cs_text) if cs_text and cs_text != "1" else 1
                if rs > 1 or cs > 1:
                    if res.span_slots + rs * cs > SPAN_BUDGET:
                        res.problem = ("markup_too_large", f"table {index}: rowspan/colspan cover more than {SPAN_BUDGET} cells on the page; spans ignored")
                        cs = 1
                    else:
                        res.span_slots += rs * cs
                        # the rows below keep the columns free; this row's are behind c once it moves on
                        for below in range(r + 1, r + rs):
                            slots = taken.get(below)
                            if slots is None:
                                taken[below] = set(range(c, c + cs))
                            else:
                                slots.update(range(c, c + cs))
            text = _cell_text(td) if len(td) else td.text
            if text and not text.isalnum():  # (most cells are a bare number or label: nothing to clean)
                text = _clean(text)
            out.append(Token(text or "", index, r, c))
            c += cs
    return r + 1 + len(out) - first


def html_tokens(text: str, utf8: bytes | None = None) -> HtmlResult:
    """Tokens of an HTML page (never raises on malformed markup); ``utf8``: the page's bytes when they are ``text`` in UTF-8."""
    res = HtmlResult()
    root, too_deep = _parse(utf8 if utf8 is not None else text.encode("utf-8", "surrogatepass"))
    flat = _flatten(root) if root is not None and not too_deep else None
    if root is not None and flat is None:
        # libxml2 stops at depth 2048 (and libxslt recursion earlier); wrapper tags carry no
        # table structure, so re-read without them
        root, too_deep = _parse(_WRAPPERS.sub("<br>", text).encode("utf-8", "surrogatepass"))
        res.problem = ("markup_too_deep", "markup nested deeper than the parser allows; re-read without div/span/p wrappers")
        flat = _flatten(root) if root is not None and not too_deep else None
        if flat is None:
            res.problem = ("decode_failure", "markup nested too deeply to read even without div/span/p wrappers")
            return res
    if root is None or flat is None:
        res.problem = ("decode_failure", "HTML could not be parsed into a document tree")
        return res
    title_el = next(root.iter("title"), None)
    if title_el is not None and title_el.text:
        res.title = _clean(title_el.text) or None
    out = res.tokens
    page, tables = flat
    check_lines(page)
    shift = 0  # lines the tables' rows and cells take
    for i, line in enumerate(page.split("\n")):
        if not line:  # (a line of spaces alone gives split_line nothing)
            continue
        if line.startswith(_MARK):
            shift += _grid(tables[int(line[len(_MARK):])], res.tables, out, res)
            res.tables += 1
        else:
            split_line(line, i + shift, out)
    check_tokens(len(out))
    return res
