"""Readers for documents that are not text: each turns one format's bytes into the token stream of ``extract.tokens``.

A reader is a function ``read(data: bytes) -> ReadResult`` in its own module (``pdf``, ``docx``, ``xlsx``,
``legacy`` for .doc/.wps/.xls through a converter), found through ``READERS`` by the format that
``extract.loading.sniff_binary`` told from the magic bytes. Modules are imported on first use, so parsing
HTML never pays for a PDF library. From the tokens on, every format goes through the same table reader
(``extract.tables``) and the same metadata checks as HTML: one set of rules, one set of issue codes.

A table cell becomes a ``Token`` with its grid place (``table``, ``row``, ``col``: each merged cell once, at
its top-left slot) and, for PDF, ``page`` and ``bbox``; narrative becomes one token per line. A reader never
raises on bad input: what it cannot read is an ``Issue`` in ``ReadResult.issues`` (e.g. ``image_only``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from extract.model import Issue
from extract.tokens import Token


@dataclass(slots=True)
class ReadResult:
    tokens: list[Token] = field(default_factory=list)
    title: str | None = None  # the document's own title (PDF/DOCX core properties), a metadata signal like <title>
    tables: int = 0  # grids found (0: the document has no tables)
    issues: list[Issue] = field(default_factory=list)


# format (as sniffed by extract.loading) -> "module:function" of its reader
READERS: dict[str, str] = {
    "pdf": "extract.readers.pdf:read",
    "docx": "extract.readers.docx:read",
    "xlsx": "extract.readers.xlsx:read",
    # legacy formats, converted by LibreOffice and read as DOCX/XLSX
    "doc": "extract.readers.legacy:read",
    "xls": "extract.readers.legacy:read",
    "wps": "extract.readers.legacy:read",
    "rtf": "extract.readers.legacy:read",
}


def reader_for(fmt: str) -> Callable[[bytes], ReadResult] | None:
    """The reader of a sniffed format, or None when the format has none (it stays ``unsupported_format``)."""
    target = READERS.get(fmt)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)
