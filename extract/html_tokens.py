"""HTML to tokens with lxml: one parse, one XSLT pass in C, no BeautifulSoup tree on the hot path.

An XSLT stylesheet (libxslt) flattens the page into lines: block elements end lines, site
chrome (scripts, styles, nav, footers, share bars, menus, breadcrumbs) is dropped, and each
table without a nested table is written as marker lines (table, row, cell with its rowspan and
colspan). Python then expands the cells on a dense grid and keeps the other lines as text. Outer
layout tables are read as ordinary blocks. Word-export markup (``<o:p>``, MsoNormal spans)
needs nothing special: only its text is kept, ``<br>``/``<p>`` inside a cell read as a space.
"""

from __future__ import annotations

import re

from lxml import etree

from extract.tokens import Token, split_line

MAX_SPAN = 200  # larger rowspan/colspan values are markup errors; capped so a grid stays small
SPAN_BUDGET = 200_000  # grid slots that spans may cover per table; beyond it spans are ignored (an error)
_BLOCK = ("p div br li ul ol h1 h2 h3 h4 h5 h6 tr table tbody thead tfoot section article dl dt dd header "
          "blockquote pre center form hr title td th caption main aside address figure figcaption").split()
_DROP = "script style noscript iframe template svg select button object embed nav footer head".split()
_CHROME_WORDS = ("share", "crumb", "nav", "menu", "footer", "copyright", "toolbar")
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_M = "\ue000"  # a private-use character starts the marker lines of tables
_TABLE, _ROW, _CELL = _M + "T", _M + "R", _M + "C"


def _chrome_test(attr: str) -> str:
    low = f"translate(@{attr}, '{_UPPER}', '{_LOWER}')"
    return " or ".join(f"contains({low}, '{w}')" for w in _CHROME_WORDS)


# chrome is looked for on container tags only: a pattern on ``*`` would be tested on every element
_CHROME_MATCH = "|".join(f"{tag}[@class or @id][{_chrome_test('class')} or {_chrome_test('id')}]"
                         for tag in ("div", "ul", "ol", "section", "aside", "header", "dl"))
_XSLT = etree.XSLT(etree.XML(f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="utf-8"/>
<xsl:template match="{'|'.join(_DROP)}"/>
<xsl:template match="{_CHROME_MATCH}" priority="3"/>
<xsl:template match="table[not(.//table)]" priority="2">
  <xsl:text>&#10;{_TABLE}&#10;</xsl:text>
  <xsl:for-each select=".//tr">
    <xsl:text>{_ROW}&#10;</xsl:text>
    <xsl:for-each select="td|th">
      <xsl:text>{_CELL}</xsl:text><xsl:value-of select="@rowspan"/><xsl:text>&#9;</xsl:text>
      <xsl:value-of select="@colspan"/><xsl:text>&#9;</xsl:text>
      <xsl:apply-templates mode="cell"/><xsl:text>&#10;</xsl:text>
    </xsl:for-each>
  </xsl:for-each>
  <xsl:text>&#10;</xsl:text>
</xsl:template>
<xsl:template match="script|style" mode="cell"/>
<xsl:template match="br|p|div|li" mode="cell"><xsl:text> </xsl:text><xsl:apply-templates mode="cell"/><xsl:text> </xsl:text></xsl:template>
<xsl:template match="text()" mode="cell"><xsl:value-of select="translate(., '&#10;&#13;&#9;', '   ')"/></xsl:template>
<xsl:template match="{'|'.join(_BLOCK)}"><xsl:text>&#10;</xsl:text><xsl:apply-templates/><xsl:text>&#10;</xsl:text></xsl:template>
</xsl:stylesheet>"""))

_WS = re.compile(r"\s+")
_WS_INNER = re.compile(r"\s\s|[^\S ]")  # whitespace that is not already single spaces
_WRAPPERS = re.compile(r"</?(?:div|span|font|section|article|center|b|i|strong|em|a|p)\b[^>]*>", re.I)
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, no_network=True, encoding="utf-8")


class HtmlResult:
    __slots__ = ("tokens", "title", "tables", "problem")

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.title: str | None = None
        self.tables = 0
        self.problem: tuple[str, str] | None = None


def _parse(data: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _too_deep() -> bool:
    return any("Excessive depth" in e.message for e in _PARSER.error_log)


def _flatten(root: etree._Element) -> str | None:
    try:
        return str(_XSLT(root))
    except etree.XSLTApplyError:  # e.g. template recursion deeper than libxslt allows
        return None


def _span(value: str) -> int:
    if not value or value == "1":
        return 1
    try:
        n = int(value.strip().split(".")[0])
    except ValueError:
        return 1
    return min(max(n, 1), MAX_SPAN)


def _clean(text: str) -> str:
    text = text.strip()
    return _WS.sub(" ", text) if _WS_INNER.search(text) else text


def html_tokens(text: str) -> HtmlResult:
    """Tokens of an HTML page (never raises on malformed markup)."""
    res = HtmlResult()
    root = _parse(text.encode("utf-8", "surrogatepass"))
    flat = _flatten(root) if root is not None and not _too_deep() else None
    if root is not None and flat is None:
        # libxml2 stops at depth 2048 (and libxslt recursion earlier); wrapper tags carry no
        # table structure, so re-read without them
        root = _parse(_WRAPPERS.sub("<br>", text).encode("utf-8", "surrogatepass"))
        res.problem = ("markup_too_deep", "markup nested deeper than the parser allows; re-read without div/span/p wrappers")
        flat = _flatten(root) if root is not None and not _too_deep() else None
        if flat is None:
            res.problem = ("decode_failure", "markup nested too deeply to read even without div/span/p wrappers")
            return res
    if root is None or flat is None:
        res.problem = ("decode_failure", "HTML could not be parsed into a document tree")
        return res
    title_el = root.find(".//title")
    if title_el is not None and title_el.text:
        res.title = _clean(title_el.text) or None
    out = res.tokens
    append = out.append
    table, r, c = -1, -1, 0
    taken: set[tuple[int, int]] = set()
    for i, line in enumerate(flat.split("\n")):
        if not line:
            continue
        if line[0] != _M:
            if not line.isspace():
                split_line(line, i, out)
        elif line[1] == "C":
            rs_text, cs_text, cell = line[2:].split("\t", 2)
            if taken:
                while (r, c) in taken:
                    c += 1
            rs = _span(rs_text) if rs_text else 1
            cs = _span(cs_text) if cs_text else 1
            if rs > 1 or cs > 1:
                if len(taken) + rs * cs > SPAN_BUDGET:
                    res.problem = ("markup_too_large", f"table {table}: rowspan/colspan cover more than {SPAN_BUDGET} cells; spans ignored")
                    rs = cs = 1
                else:
                    taken.update((r + dr, c + dc) for dr in range(rs) for dc in range(cs))
            append(Token(_clean(cell), table, r, c))
            c += cs
        elif line == _ROW:
            r, c = r + 1, 0
        elif line == _TABLE:
            table, r, c = table + 1, -1, 0
            taken.clear()
    res.tables = table + 1
    return res
