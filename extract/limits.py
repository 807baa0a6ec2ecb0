"""How much work the parser takes on for one document: bounds on what the bytes expand into.

Bytes alone do not bound the work: 200 KB of gzip can inflate to 59 MB of ``<td>1``, which as an
lxml tree plus tokens took 4.7 GB. So besides ``MAX_BYTES`` the parser counts what the bytes
become before it builds it (tags before the tree, lines before splitting) or while it builds it
(tokens); past a limit ``InputTooLarge`` is raised and the document gets one ``input_too_large``
error naming the limit. Each limit is far above any real report (~200 template cells, a few
thousand tags, lines and chrome cells) and keeps one document to a few hundred MB.
"""

from __future__ import annotations

MAX_BYTES = 64 * 1024 * 1024  # longer input is read up to here (``input_truncated``)
MAX_TAGS = 500_000  # ``<`` in the markup (start and end tags, counted on the bytes): each can make an lxml element
MAX_LINES = 1_000_000  # lines of text, counted before the text is split into them
MAX_TOKENS = 200_000  # tokens: table cells, text lines and the numbers split off them
MAX_PDF_PAGES = 300  # pages of a PDF (a report has a few dozen): a longer one is not read at all
MAX_PAGE_OBJECTS = 200_000  # drawing objects on one PDF page (a ruled report page has a few thousand)


class InputTooLarge(Exception):
    """The document expands past one of the limits above; its message names the limit."""


def check_tags(markup: bytes) -> None:
    """Counted only when the bytes could hold too many (a page of a few hundred KB costs nothing)."""
    if len(markup) > MAX_TAGS:
        _check(markup.count(b"<"), MAX_TAGS, "tags in the markup", "MAX_TAGS")


def check_lines(text: str, breaks: tuple[str, ...] = ("\n",)) -> None:
    """Lines as ``breaks`` end them, counted only when the text could hold too many."""
    if len(text) > MAX_LINES:
        _check(sum(map(text.count, breaks)), MAX_LINES, "lines of text", "MAX_LINES")


def check_tokens(count: int) -> None:
    _check(count, MAX_TOKENS, "tokens (table cells, text lines and numbers)", "MAX_TOKENS")


def _check(count: int, limit: int, what: str, name: str) -> None:
    """Raise ``InputTooLarge`` when ``count`` (of ``what``, so far) is over ``limit``, the constant ``name`` here."""
    if count > limit:
        raise InputTooLarge(f"more than {limit} {what} ({count} counted), the parser's limit "
                            f"(extract.limits.{name}): not parsed")

# Office documents (extract.readers): ZIP members are checked before they are inflated (zip bombs)
MAX_MEMBER_BYTES = 48 * 1024 * 1024  # inflated size of one member read (word/document.xml, a sheet)
MAX_RATIO = 200  # inflated / compressed size of a member over 1 MB; Office XML packs 5-30 times
MAX_TABLES = 1_000  # Word tables or Excel sheets in one document; a report has a handful


def check_tables(count: int) -> None:
    _check(count, MAX_TABLES, "tables or sheets", "MAX_TABLES")
CONVERT_TIMEOUT = 120  # seconds LibreOffice may take to convert one legacy document (.doc, .wps, .xls)
