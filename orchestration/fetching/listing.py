"""Reading a listing page (an agency's 政府信息公开年报 column): report links and further pages.

A report link is an ``<a>`` (or a JSON record) whose text or title matches the source's ``link_text``,
taken only from the listing's list block: navigation, breadcrumbs, headers, footers and sidebars are
dropped first, and a link to a page of the column (the column itself, its ``index_N`` pages, its pager's
pages) or of any column (a folder or its index page: the folders above it, sibling columns) is never a report. Further pages come from the pager as each CMS family writes it
(``cms_lists.py``) and from pagination words (下一页, 尾页, a page number, 首页 ...) that point into the
column, so the site's home page is never read as a listing page. The crawl (``fetcher.py``) keeps only
links on the listing's own host.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from . import cms_lists
from .client import without_fragment

PAGINATION_TEXT = re.compile(r"^(下一?页|后一?页|上一?页|前一?页|首页|尾页|末页|第?\d{1,4}页?|next|prev(ious)?|last|first|[<>›»«‹]+)$", re.I)
# A column's own pages: the folder itself, or its index/default page, numbered or not (index_3.html).
COLUMN_PAGE_NAME = re.compile(r"^((index|default)(_\d+)?\.\w+)?$", re.I)
FIRST_PAGE_NAME = re.compile(r"^((index|default)\.\w+)?$", re.I)  # the folder and its index page are one page
# Regions that are never the list: by tag, and by class/id words (split on -, _, spaces and camelCase).
BOILERPLATE_TAGS = {"header", "footer", "nav", "aside"}
BOILERPLATE_WORDS = {
    "nav", "navbar", "subnav", "leftnav", "menu", "submenu", "header", "head", "topbar", "footer", "foot", "copyright",
    "sidebar", "side", "aside", "crumb", "crumbs", "breadcrumb", "bread", "position", "location", "place", "weizhi", "dqwz",
    "banner", "search", "friend", "yqlj", "share", "tree",
}
BOILERPLATE_PARTS = ("nav", "menu", "crumb", "footer", "header", "sidebar")  # also inside a word: leftmenu, topnav, subnavbox
BREADCRUMB_TEXT = re.compile(r"^\s*(当前位置|您的位置|您现在的位置|你的位置|你现在的位置|所在位置|当前的位置)")
ANCESTORS_CAP = 64  # levels above a matching link that count it (real pages nest under 40)
INLINE_TAGS = {"strong", "b", "span", "em", "i", "font", "label", "small"}
LIST_WORD = re.compile(r"list|liebiao|^lb$|^lb[_-]|[_-]lb$", re.I)
LISTING_TYPES = ("text/html", "application/xhtml+xml", "application/json", "text/json", "text/xml", "application/xml", "text/plain", "text/javascript")


@dataclass
class ListingLinks:
    reports: list[str] = field(default_factory=list)  # absolute URLs, in page order, deduplicated
    pages: list[str] = field(default_factory=list)
    off_site: int = 0  # matching links to other hosts, left alone
    unfollowed: list[str] = field(default_factory=list)  # what the page names but the crawl cannot follow, with why


class Column:
    """The listing's column: its folder and every page of it that is known, so none is taken for a report."""

    def __init__(self, listing_url: str):
        parts = urlsplit(listing_url)
        self.site = parts.netloc.lower()
        self.folder = parts.path[: parts.path.rfind("/") + 1] or "/"
        self.known = {without_fragment(listing_url)}
        self.first_page = parts.path[len(self.folder):] if not parts.query else None  # None: a query-made listing

    def is_first_page(self, url: str) -> bool:
        """Another name of the listing itself: ``ndbg/`` and ``ndbg/index.htm`` (a TRS pager's page 0, 首页)."""
        parts = urlsplit(url)
        same_folder = parts.netloc.lower() == self.site and parts.path[: parts.path.rfind("/") + 1] == self.folder
        name = parts.path[len(self.folder):]
        return same_folder and not parts.query and self.first_page is not None \
            and FIRST_PAGE_NAME.match(self.first_page) is not None and FIRST_PAGE_NAME.match(name) is not None

    def contains(self, url: str) -> bool:
        """A URL inside the column's folder on its site (where its pages live)."""
        parts = urlsplit(url)
        return parts.netloc.lower() == self.site and parts.path.startswith(self.folder)

    def is_listing_page(self, url: str) -> bool:
        """The listing itself, a page of its pager, or any column's page on the site: a folder or its
        ``index``/``default`` page (the column, the folders above it, sibling columns in the navigation).
        Reports are articles (``t20230131_123.htm``, ``art_1229_123.html``), never a column's index."""
        parts = urlsplit(url)
        return url in self.known or (parts.netloc.lower() == self.site and COLUMN_PAGE_NAME.match(parts.path.rpartition("/")[2]) is not None)


def find_links(text: str, page_url: str, link_text: str, listing_url: str | None = None) -> ListingLinks:
    """Report links and further listing pages of one page of the listing whose first page is ``listing_url``
    (where it landed after redirects; default: this page).

    The page may be HTML, a Hanweb ``<datastore>`` answer or a JSON list API's answer; a paging script
    yields at most ``cms_lists.SCRIPT_PAGES_CAP`` pages.
    """
    start = listing_url or page_url
    column = Column(start)
    column.known.add(without_fragment(page_url))
    found = ListingLinks()
    pattern = re.compile(link_text)
    head = text.lstrip()[:200]
    if head[:1] in "{[":
        try:
            data = json.loads(text)
        except ValueError:
            return found  # not JSON after all: an API that answered with an error text has no links
        records, pages = cms_lists.json_list(data, page_url)
        _add_records(found, records, page_url, pattern, column, pages)
        return found
    if head.startswith(("<?xml", "<datastore")):  # a Hanweb dataproxy.jsp answer: records only
        _add_records(found, cms_lists.datastore_records(text), page_url, pattern, column, [])
        return found
    soup = BeautifulSoup(text, "lxml")
    scripts = [script.string or "" for script in soup.find_all("script")]
    pages = cms_lists.script_pages(scripts, page_url, start)
    found.unfollowed = [f"POST-only list API {api}" for api in cms_lists.posted_apis(scripts, page_url)]
    for anchor in soup.find_all("a", href=True):  # pagination words, only into the column: 首页 of the site is not a page
        url = _absolute(anchor["href"], page_url)
        if url and PAGINATION_TEXT.match(_text(anchor)) and column.contains(url):
            pages.append(url)
    held = _held(soup, pattern)
    _drop_boilerplate(soup, held)
    records = [(a["href"], _text(a), a.get("title") or "") for block in _list_blocks(soup, held) for a in block.find_all("a", href=True)]
    for script in soup.find_all("script", type=re.compile(r"xml", re.I)):  # Hanweb: the records are CDATA in the list unit
        records += cms_lists.datastore_records(script.string or "")
        pages += cms_lists.hanweb_groups(script.string or "", "\n".join(scripts), page_url)
    _add_records(found, records, page_url, pattern, column, pages)
    return found


def _add_records(found: ListingLinks, records: list[tuple[str, str, str]], page_url: str, pattern: re.Pattern, column: Column, pages: list[str]) -> None:
    """Pages first (so a link to one is known as a listing page), then the matching records that are not pages."""
    for page in dict.fromkeys(pages):
        if urlsplit(page).netloc.lower() == column.site and not column.is_first_page(page) and page not in column.known:
            found.pages.append(page)  # the crawl stays on the site
            column.known.add(page)
    taken = set(found.reports)
    for href, text, title in records:
        url = _absolute(href, page_url)
        if not url or not (pattern.search(text) or pattern.search(title)) or column.is_listing_page(url):
            continue
        if urlsplit(url).netloc.lower() != column.site:
            found.off_site += 1
        elif url not in taken:
            taken.add(url)
            found.reports.append(url)


def _absolute(href: str, page_url: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    url = without_fragment(urljoin(page_url, href))
    return url if urlsplit(url).scheme in ("http", "https") else None


def _text(anchor: Tag) -> str:
    return " ".join(anchor.get_text(" ", strip=True).split())


def _words(element: Tag) -> set[str]:
    names = " ".join([element.get("id") or "", *(element.get("class") or [])])
    names = re.sub(r"([a-z])([A-Z])", r"\1 \2", names).lower()
    return set(re.split(r"[\s_\-]+", names)) - {""}


def _is_boilerplate_named(element: Tag) -> bool:
    words = _words(element)
    return bool(words & BOILERPLATE_WORDS) or any(part in word for word in words for part in BOILERPLATE_PARTS)


def _held(soup: BeautifulSoup, pattern: re.Pattern) -> dict[int, int]:
    """Matching links per element (by ``id``), each counted in its own ``<a>`` and up to ``ANCESTORS_CAP``
    levels above it: one pass, so a hostile page nested thousands deep stays linear."""
    held: dict[int, int] = {}
    for anchor in soup.find_all("a", href=True):
        if pattern.search(_text(anchor)) or pattern.search(anchor.get("title") or ""):
            for element in itertools.islice(itertools.chain([anchor], anchor.parents), ANCESTORS_CAP):
                held[id(element)] = held.get(id(element), 0) + 1
    return held


def _outermost(soup: BeautifulSoup, wanted: Callable[[Tag], bool]) -> list[Tag]:
    """The elements ``wanted`` says yes to that are not inside another one, in document order."""
    found, inside = [], set()
    for element in soup.find_all(True):
        if id(element.parent) in inside:
            inside.add(id(element))
        elif wanted(element):
            found.append(element)
            inside.add(id(element))
    return found


def _drop_boilerplate(soup: BeautifulSoup, held: dict[int, int]) -> None:
    """Remove navigation, breadcrumbs, headers, footers and sidebars (by tag, by class/id words, by 当前位置 text).

    A region holding most of the page's matching links (two or more) stays: it is the list, whatever its
    name (``<div class="search-result">`` of a search-page listing, a wrapper named ``head-wrap``)."""
    total = held.get(id(soup), 0)

    def droppable(element: Tag) -> bool:
        return held.get(id(element), 0) < 2 or 2 * held.get(id(element), 0) <= total

    boilerplate = _outermost(soup, lambda e: (e.name in BOILERPLATE_TAGS or _is_boilerplate_named(e)) and droppable(e))
    for element in boilerplate:
        element.extract()
    for label in soup.find_all(string=BREADCRUMB_TEXT):
        holder = label.parent
        while holder is not None and holder.name in INLINE_TAGS:  # <strong>当前位置:</strong> <a>…: the links are beside it
            holder = holder.parent
        if holder is not None and holder.name not in ("body", "html", "[document]") and droppable(holder):
            holder.extract()


def _list_blocks(soup: BeautifulSoup, held: dict[int, int]) -> list[Tag]:
    """The outermost list-named elements (class/id with "list", "lb" …) holding a matching link; else the whole page
    (a list word on ``<body>``, as DedeCMS's ``class="articlelist"``, names the page, not a block)."""
    blocks = _outermost(soup, lambda e: e.name not in ("html", "body") and id(e) in held and any(LIST_WORD.search(w) for w in _words(e)))
    return blocks or [soup]
