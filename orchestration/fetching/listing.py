"""Reading a listing page (an agency's 政府信息公开年报 column): report links and further pages.

A report link is an ``<a>`` whose text or title matches the source's ``link_text`` pattern.
Further pages are links whose text is a pagination word (下一页, 尾页, a page number, ...) and the
pages a TRS-style ``createPageHTML(total, current, "index", "html")`` script would write.
Only links on the listing's own host are kept: the crawl stays on the site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from .client import without_fragment

PAGINATION_TEXT = re.compile(r"^(下一?页|后一?页|上一?页|前一?页|首页|尾页|末页|第?\d{1,4}页?|next|prev(ious)?|last|first|[<>›»«‹]+)$", re.I)
CREATE_PAGE = re.compile(r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]")

SCRIPT_PAGES_CAP = 1000  # a hostile createPageHTML(1000000000, ...) must not become a billion URLs


@dataclass
class ListingLinks:
    reports: list[str] = field(default_factory=list)  # absolute URLs, in page order, deduplicated
    pages: list[str] = field(default_factory=list)
    off_site: int = 0  # matching links to other hosts, left alone


def find_links(html: str, page_url: str, link_text: str) -> ListingLinks:
    """Report links and further listing pages (a paging script's at most ``SCRIPT_PAGES_CAP``)."""
    pattern = re.compile(link_text)
    site = urlsplit(page_url).netloc.lower()
    found = ListingLinks()
    for anchor in BeautifulSoup(html, "lxml").find_all("a", href=True):
        href = anchor["href"].strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = without_fragment(urljoin(page_url, href))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        text = " ".join(anchor.get_text(" ", strip=True).split())
        title = anchor.get("title") or ""
        if pattern.search(text) or pattern.search(title):
            bucket = found.reports
        elif PAGINATION_TEXT.match(text):
            bucket = found.pages
        else:
            continue
        if parts.netloc.lower() != site:
            found.off_site += bucket is found.reports
            continue
        if url not in bucket:
            bucket.append(url)
    for total, _current, stem, ext in CREATE_PAGE.findall(html):
        for number in range(min(int(total), SCRIPT_PAGES_CAP)):
            name = f"{stem}.{ext}" if number == 0 else f"{stem}_{number}.{ext}"
            url = urljoin(page_url, name)
            if url not in found.pages:
                found.pages.append(url)
    return found
