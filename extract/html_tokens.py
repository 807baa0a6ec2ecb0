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
_CHROME = re.compile(r"(?:^|[\s_-])(share|bdshare|breadcrumb|crumb|navbar|nav|menu|footer|copyright|toolbar|bshare)(?:$|[\s_-])", re.I)
_CELL_BREAK = ("br", "p", "div", "li")
MAX_SPAN = 200  # larger rowspan/colspan values are markup errors; capped so a grid stays small
_WS = re.compile(r"\s+")

_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, no_network=True, encoding="utf-8")


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
    for el in cell.iter(*_CELL_BREAK):
        el.tail = " " + el.tail if el.tail else " "
    return _WS.sub(" ", "".join(cell.itertext())).strip()


def _grid_tokens(table: etree._Element, index: int, out: list[Token]) -> None:
    """The cells of a leaf table, each once at its top-left slot of the dense grid."""
    taken: set[tuple[int, int]] = set()
    for r, tr in enumerate(table.iter("tr")):
        c = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in taken:
                c += 1
            rs, cs = _span(cell.get("rowspan")), _span(cell.get("colspan"))
            if rs > 1 or cs > 1:
                taken.update((r + dr, c + dc) for dr in range(rs) for dc in range(cs))
            out.append(Token(_cell_text(cell), index, r, c))
            c += cs


def _is_chrome(el: etree._Element) -> bool:
    cls = el.get("class")
    ident = el.get("id")
    return bool((cls and _CHROME.search(cls)) or (ident and _CHROME.search(ident)))


def html_tokens(text: str) -> HtmlResult:
    """Tokens of an HTML page (never raises on malformed markup)."""
    res = HtmlResult()
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"), _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        root = None
        res.problem = ("decode_failure", f"HTML could not be parsed: {exc}")
    if root is None:
        if res.problem is None:
            res.problem = ("decode_failure", "HTML could not be parsed: empty document tree")
        return res
    title_el = root.find(".//title")
    if title_el is not None and title_el.text:
        res.title = _WS.sub(" ", title_el.text).strip() or None
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    body = root.find("body")
    if body is None:
        body = root
    out = res.tokens
    line: list[str] = []
    line_no = 0

    def flush() -> None:
        nonlocal line_no
        if line:
            split_line("".join(line), line_no, out)
            line.clear()
        line_no += 1

    # iterative walk: (element, False) = enter, (element, True) = leave (then its tail)
    stack: list[tuple[etree._Element, bool]] = [(body, False)]
    while stack:
        el, leaving = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if leaving:
            if tag in _BLOCK:
                flush()
            if el.tail and el is not body:
                line.append(el.tail)
            continue
        if tag and el is not body and _is_chrome(el):
            if el.tail:
                line.append(el.tail)
            continue
        if tag == "table" and el.find(".//table") is None:
            flush()
            _grid_tokens(el, res.tables, out)
            res.tables += 1
            flush()
            if el.tail:
                line.append(el.tail)
            continue
        if tag in _BLOCK:
            flush()
        if el.text and tag:
            line.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    flush()
    return res
