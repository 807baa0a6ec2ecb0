"""The attachment links of a report page: many agencies publish the annual report as an article page whose
body is one line, "附件：XX局2023年政府信息公开工作年度报告.pdf", linking the file.

A link is an attachment when it points at a file (an attachment suffix, a CMS download URL such as
``/module/download/downfile.jsp?...``, or link text that names a file) and its text, title or file name
is report-like (年报, 年度报告, 政府信息公开…报告); a link marked 附件 (its text starts with it, or "附件："
stands just before it) is taken on the mark alone. Only links on
the page's own site are followed: the same scheme family and host for a fetched page, ``file:`` paths for a
local page (the fetcher then keeps them inside the manifest's folders). What the file holds is never
decided here: the parser reads the format from the bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.etree
import lxml.html

from .client import without_fragment

# Suffixes a binary attachment is named with: an HTML answer for one of these is an error page.
BINARY_SUFFIXES = (".pdf", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".et", ".rtf", ".ofd")
ATTACHMENT_SUFFIXES = BINARY_SUFFIXES + (".txt",)  # (an .htm link is a page, unless marked 附件)
DOWNLOAD_URL = re.compile(r"downfile|download|filedown|getfile|attachment", re.I)
REPORT_LIKE = re.compile(r"年报|年度报告|政府信息公开.{0,12}报告")  # (not 政府信息公开申请表)
ATTACHMENT_MARK = re.compile(r"^\s*附\s*件")
ATTACHMENT_MARK_TEXT = re.compile(r"^\s*附\s*件\s*\d{0,2}\s*[:：]?\s*")
# A page without 附件 and without an href to a file has no attachment link: most report pages, passed over
# without building a tree (a fraction of a millisecond). Matched in the lower-cased page: a pattern without
# re.I searches for its literal start ("href"), twice as fast at every page of a refresh.
FILE_HREF = re.compile(r"""href\s*=\s*["']?[^"'\s>]*(?:\.(?:pdf|docx?|wps|xlsx?|et|rtf|ofd|txt)\b|download|downfile|filedown|getfile|attachment)""")
_PARSER = lxml.html.HTMLParser(encoding="utf-8", no_network=True)
MARK_BEFORE = re.compile(r"附\s*件\s*\d{0,2}\s*[:：]?\s*$")  # "附件：<a …>": the mark stands just before the link


@dataclass(frozen=True)
class AttachmentLink:
    url: str  # absolute: http(s) for a fetched page, file: for a local one
    text: str  # the link text, for messages
    binary_name: bool  # named like a binary file (.pdf, .docx ...): an HTML body is an error page, not the report

    @property
    def title(self) -> str | None:
        """The link text as a title ("附件：XX局2023年…年度报告.pdf" -> "XX局2023年…年度报告"), when it is report-like:
        one more title signal for the attachment, cross-checked against its own words by the parser."""
        title = re.sub(r"\.[A-Za-z]{2,4}$", "", ATTACHMENT_MARK_TEXT.sub("", self.text)).strip()
        return title if REPORT_LIKE.search(title) else None


@dataclass
class PageAttachments:
    links: list[AttachmentLink] = field(default_factory=list)  # on-site, in page order, each once
    off_site: list[str] = field(default_factory=list)  # attachment links to another site: refused, reported


def file_names(url: str) -> list[str]:
    """The names a URL gives its file: the last path segment and any query value that looks like a file name."""
    parts = urlsplit(url)
    names = [unquote(PurePosixPath(parts.path).name)]
    names += [value for _, value in parse_qsl(parts.query) if "." in value]
    return [n for n in names if n]


def _suffix(name: str) -> str:
    return PurePosixPath(name.strip().lower()).suffix


def find_attachments(html: str, page_url: str) -> PageAttachments:
    """The report attachments a page links (``page_url``: its final URL, or a ``file:`` URL for a local page)."""
    page = urlsplit(page_url)
    local = page.scheme == "file"
    found = PageAttachments()
    if "附件" not in html and not FILE_HREF.search(html.lower()):
        return found
    try:
        tree = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return found  # nothing a tree can be built from
    seen = {without_fragment(page_url)}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = without_fragment(urljoin(page_url, href))
        if url in seen:
            continue
        text = " ".join(anchor.text_content().split())
        title = anchor.get("title") or ""
        names = file_names(url)
        suffixes = {_suffix(n) for n in names + [text, title]}
        previous = anchor.getprevious()
        before = (previous.tail if previous is not None else anchor.getparent().text) or ""
        marked = bool(ATTACHMENT_MARK.match(text)) or bool(MARK_BEFORE.search(before))
        file_like = marked or bool(suffixes & set(ATTACHMENT_SUFFIXES)) or bool(DOWNLOAD_URL.search(url))
        if not file_like or not (marked or any(REPORT_LIKE.search(s) for s in [text, title, *names])):
            continue
        seen.add(url)
        parts = urlsplit(url)
        on_site = parts.scheme == "file" if local else (parts.scheme in ("http", "https") and parts.netloc.lower() == page.netloc.lower())
        if not on_site:
            found.off_site.append(url)
            continue
        found.links.append(AttachmentLink(url, text or title, bool(suffixes & set(BINARY_SUFFIXES))))
    return found
