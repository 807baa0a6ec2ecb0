"""HTML to tokens with lxml, walked once (no BeautifulSoup tree on the hot path).

Site chrome (scripts, styles, nav, footers, share bars, menus) is dropped. Tables without a
nested table become dense grids (rowspan/colspan expanded); outer layout tables are walked as
ordinary blocks. Word-export markup (``<o:p>``, MsoNormal spans) needs nothing special: only its
text is kept, with ``<br>``/``<p>`` inside a cell read as a space.
"""

from __future__ import annotations

import re

from lxml import etree

from extract.tokens import Token, split_line

_BLOCK = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 tr table tbody thead tfoot section article dl dt dd header "
    "blockquote pre center form hr title td th caption main aside address figure figcaption".split()
)
_DROP_TAGS = ("script", "style", "noscript", "iframe", "template", "svg", "select", "button", "object", "embed", "nav", "footer", "head")
_CELL_BREAK = ("br", "p", "div", "li")
MAX_SPAN = 200  # larger rowspan/colspan values are markup errors; capped so a grid stays small
_WS = re.compile(r"\s+")
_WS_INNER = re.compile(r"\s\s|[^\S ]")  # whitespace that is not already single spaces
_STRING = etree.XPath("string()", smart_strings=False)

_WRAPPERS = re.compile(r"</?(?:div|span|font|section|article|center|b|i|strong|em|a|p)\b[^>]*>", re.I)
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, no_network=True, encoding="utf-8")


def _parse(data: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _too_deep() -> bool:
    return any("Excessive depth" in e.message for e in _PARSER.error_log)


class HtmlResult:
    __slots__ = ("tokens", "title", "tables", "problem")

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.title: str | None = None
        self.tables = 0
        self.problem: tuple[str, str] | None = None


def _span(value: str | None) -> int:
    try:
        n = int(str(value).strip().split(".")[0]) if value else 1
    except ValueError:
        return 1
    return min(max(n, 1), MAX_SPAN)


def _cell_text(cell: etree._Element) -> str:
    """The text of a cell; ``<br>``/``<p>`` breaks inside it were turned into spaces beforehand."""
    text = cell.text if len(cell) == 0 else _STRING(cell)
    if not text:
        return ""
    text = text.strip()
    return _WS.sub(" ", text) if _WS_INNER.search(text) else text


def _grid_tokens(table: etree._Element, index: int, out: list[Token]) -> None:
    """The cells of a leaf table, each once at its top-left slot of the dense grid."""
    taken: set[tuple[int, int]] = set()
    for r, tr in enumerate(table.iter("tr")):
        c = 0
        for cell in tr.iterchildren("td", "th"):
            while (r, c) in taken:
                c += 1
            rs, cs = cell.get("rowspan"), cell.get("colspan")
            rs, cs = (_span(rs) if rs else 1), (_span(cs) if cs else 1)
            if rs > 1 or cs > 1:
                taken.update((r + dr, c + dc) for dr in range(rs) for dc in range(cs))
            out.append(Token(_cell_text(cell), index, r, c))
            c += cs


_CHROME = re.compile(r"(?:^|[\s_-])(?:share|bdshare|bshare|breadcrumb|crumb|nav|navbar|menu|footer|copyright|toolbar)(?:$|[\s_-])", re.I)
_WITH_CLASS_OR_ID = etree.XPath("//*[@id or (@class and not(starts-with(@class, 'Mso')))]")  # Word's MsoNormal… never chrome
_LEAF_TABLES = etree.XPath("//table[not(descendant::table)]")
_MARK = "\ue000table:"  # a private-use character: the marker line of a table read into tokens


def html_tokens(text: str) -> HtmlResult:
    """Tokens of an HTML page (never raises on malformed markup).

    Mostly C-level lxml work: leaf tables are read into grid tokens and replaced by a marker
    line, block elements get line breaks, and the rest of the page is read as lines of text.
    """
    res = HtmlResult()
    root = _parse(text.encode("utf-8", "surrogatepass"))
    if root is not None and _too_deep():
        # libxml2 stops at depth 2048; wrapper tags carry no table structure, so re-read without them
        root = _parse(_WRAPPERS.sub("<br>", text).encode("utf-8", "surrogatepass"))
        res.problem = ("markup_too_deep", "markup nested deeper than the parser's limit; re-read without div/span wrappers")
        if root is not None and _too_deep():
            res.problem = ("decode_failure", "markup nested too deeply to read even without div/span wrappers")
            return res
    if root is None:
        res.problem = ("decode_failure", "HTML could not be parsed into a document tree")
        return res
    title_el = root.find(".//title")
    if title_el is not None and title_el.text:
        res.title = _WS.sub(" ", title_el.text).strip() or None
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    for el in _WITH_CLASS_OR_ID(root):
        if _CHROME.search(el.get("class") or "") or _CHROME.search(el.get("id") or ""):
            el.clear(keep_tail=True)
    grids: list[list[Token]] = []
    for table in _LEAF_TABLES(root):
        for el in table.iter(*_CELL_BREAK):
            el.tail = " " + el.tail if el.tail else " "
        cells: list[Token] = []
        _grid_tokens(table, len(grids), cells)
        grids.append(cells)
        table.clear(keep_tail=True)
        table.text = f"\n{_MARK}{len(grids) - 1}\n"
    res.tables = len(grids)
    for el in root.iter(*_BLOCK):
        el.tail = "\n" + el.tail if el.tail else "\n"
        el.text = "\n" + el.text if el.text else "\n"
    body = root.find("body")
    if body is None:
        body = root
    out = res.tokens
    for i, line in enumerate("".join(body.itertext()).split("\n")):
        if line.startswith(_MARK) and line[len(_MARK):].isdigit() and int(line[len(_MARK):]) < len(grids):
            out.extend(grids[int(line[len(_MARK):])])
        elif line and not line.isspace():
            split_line(line, i, out)
    return res
