"""Extraction: a published annual-report page (bytes) in, canonical cells with provenance and issues out.

``parse_document`` never raises on bad input: every problem becomes an ``Issue``. Codes raised
outside the table reader (``extract.tables``) (severity):
- ``empty_document`` (error) — no bytes, or only whitespace.
- ``unsupported_format`` (error) — images, archives that are no Word or Excel file, OLE2 files that are no
  .doc/.xls/.wps, containers whose directory cannot be read (truncated): recognised by content, with the reason.
- ``converter_missing``, ``converter_failed`` (error) — a legacy .doc/.wps/.xls/RTF and no LibreOffice to
  convert it, or a conversion that failed or ran past its deadline (``extract.readers.legacy``).
- ``image_only`` (error; a warning naming the pages when only some are) — a PDF of images without a text layer: a scan, needs OCR.
- ``unreadable_text_layer`` (error) — a PDF whose text is garbage (fonts without a Unicode map): never read as numbers.
- ``encrypted_document`` (error) — a PDF that needs a password.
- ``decode_failure`` (error when nothing readable came out, else warning) — bytes that are not
  text in any charset tried, HTML that lxml could not build a tree from, or a PDF PDFium cannot open.
- ``not_a_report`` (warning) — readable, but none of the template tables is there.
- ``no_tables`` (warning) — an HTML page without any ``<table>`` and no template tables in its text.
- ``markup_too_deep`` (warning) — nesting beyond the HTML parser's limit; re-read without wrappers.
- ``markup_too_large`` (error) — table spans covering an absurd grid; spans ignored, positions untrusted.
- ``parser_error`` (error) — an unexpected failure inside the parser (a bug), kept with its reason.
- ``input_truncated`` (warning) — a page over ``MAX_BYTES`` is read up to that size only; a PDF without its ``%%EOF``.
- ``input_too_large`` (error) — the page expands past the parser's limits on tags, lines, tokens or PDF pages
  (``extract.limits``, whose message names the limit); nothing is read from it.
- ``year_conflict``, ``year_uncertain``, ``agency_conflict``, ``agency_uncertain`` (error) — report metadata
  whose signals disagree or are missing (``extract.metadata``).
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from extract.limits import MAX_BYTES, InputTooLarge
from extract.model import ERROR, WARNING, Issue, ParsedReport

PARSER_VERSION = "1.4.0"  # 1.4: PDF, Word and Excel documents read (were unsupported_format)

__all__ = ["PARSER_VERSION", "parse_document", "ParsedReport", "Issue"]


def parse_document(data: bytes, source: str, headers: Mapping[str, str] | None = None, agency_hint: str | None = None,
                   title_hint: str | None = None) -> ParsedReport:
    """Parse one document. Sets ``content_hash`` (sha256 of ``data``) and ``parser_version``.

    ``agency_hint``: the sources manifest's ``agency`` for this document, one more signal the agency is checked against.
    ``title_hint``: the title the page linking this attachment gives it, read after the document's own ``<title>``.
    """
    report = ParsedReport(source=source, content_hash=hashlib.sha256(data).hexdigest(),
                          parser_version=PARSER_VERSION, document_kind="not_annual_report")
    try:
        with _collector_paused():
            _parse_into(report, data, headers, agency_hint, title_hint)
    except InputTooLarge as exc:
        report.issues.append(Issue("input_too_large", ERROR, str(exc)))
    except RecursionError:
        report.issues.append(Issue("decode_failure", ERROR, "markup nested too deeply to read"))
    except MemoryError:
        report.issues.append(Issue("decode_failure", ERROR, "document too large to read in memory"))
    except Exception as exc:  # noqa: BLE001 - a batch must never stop on one document; the reason is kept
        report.cells = {}
        report.issues.append(Issue("parser_error", ERROR, f"the parser failed on this document: {type(exc).__name__}: {exc}"))
    return report


_gc_lock = threading.Lock()
_gc_parses = 0  # parses running now (from any thread)
_gc_was_enabled = False  # the collector's state before the first of them began


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cycle collector waits while any parse runs, and gets back the state it had before the first.

    A parse makes thousands of short-lived objects and no reference cycles: the collector would
    otherwise run every few hundred of them, scanning the caller's heap too. The count makes
    overlapping parses from threads one pause (one parse ending does not re-enable it under another).
    """
    global _gc_parses, _gc_was_enabled
    with _gc_lock:
        if _gc_parses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_parses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_parses -= 1
            if _gc_parses == 0 and _gc_was_enabled:
                gc.enable()


def _parse_into(report: ParsedReport, data: bytes, headers: Mapping[str, str] | None, agency_hint: str | None,
                title_hint: str | None = None) -> None:
    from extract.document import read_meta
    from extract.html_tokens import html_tokens
    from extract.loading import HTML, load
    from extract.metadata import check_meta
    from extract.narrative import read_claims
    from extract.readers import reader_for
    from extract.tables import extract_tables
    from extract.tokens import text_tokens

    if len(data) > MAX_BYTES:
        report.issues.append(Issue("input_truncated", WARNING, f"{len(data)} bytes; only the first {MAX_BYTES} are read"))
        data = data[:MAX_BYTES]
    loaded = load(data, headers)
    report.input_format = loaded.format
    report.encoding = loaded.encoding
    if loaded.problem:
        code, message = loaded.problem
        severity = WARNING if loaded.text and code == "decode_failure" else ERROR
        report.issues.append(Issue(code, severity, message))
    html_title = None
    has_grid = False
    reader = reader_for(loaded.format)
    if reader is not None:  # PDF, Word, Excel: the format's reader gives the same token stream as a page
        res = reader(data)
        report.issues.extend(res.issues)
        tokens, html_title, has_grid = res.tokens, res.title, res.tables > 0
    elif not loaded.text:
        return
    elif loaded.format == HTML:
        # a page read as strict UTF-8 goes to lxml as it came (no re-encoding)
        res = html_tokens(loaded.text, data if loaded.encoding == "utf-8" and loaded.problem is None else None)
        if res.problem:
            code, message = res.problem
            report.issues.append(Issue(code, WARNING if code == "markup_too_deep" else ERROR, message))
        tokens, html_title, has_grid = res.tokens, res.title, res.tables > 0
    else:
        tokens = text_tokens(loaded.text)
    titles = " _ ".join(t for t in (html_title, title_hint) if t) or None  # (read segment by segment)
    meta = read_meta([t.text for t in tokens[:3000]], titles)
    version, cells, issues, found = extract_tables(tokens)
    meta_issues = check_meta(meta, agency_hint) if found else []  # (a page that is no report is not gated on them)
    report.title, report.agency, report.year = meta.title, meta.agency, meta.year
    report.published, report.index_no, report.doc_no = meta.published, meta.index_no, meta.doc_no
    if found:
        report.issues.extend(meta_issues)
        report.document_kind = "annual_report"
        report.template_version = version
        report.cells = cells
        report.issues.extend(issues)
        report.claims = read_claims(tokens)
        return
    if loaded.format == HTML and not has_grid and not report.issues:
        report.issues.append(Issue("no_tables", WARNING, "the page has no tables"))
    if not any(i.severity == ERROR for i in report.issues):
        report.issues.append(Issue("not_a_report", WARNING, "none of the template tables is in the document"))
