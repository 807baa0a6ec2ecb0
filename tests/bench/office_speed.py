"""DOCX (and XLSX) parse speed on one core against python-docx reading every table cell of the same files.

    uv run python -m tests.bench.office_speed [--n 60] [--seed 0] [--repeat 3] [--no-pages]

CPU time per document (``time.process_time``, the median of ``--repeat`` rounds that take the parsers
in turn: ``tests.bench.parse_speed.cpu_times``). ``parse_document`` does the whole parse (cells, metadata,
issues); the baseline only opens the file with python-docx and reads ``cell.text`` of every cell of every
table, which is less work. Pages per CPU-second use the page count LibreOffice gives each DOCX when it
exports it to PDF (skipped with ``--no-pages`` or without LibreOffice). Also prints cells exact against the
known truth and silent errors (a wrong cell or field in a document without an error issue), per format.
It reports; it does not assert.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import statistics
import sys

from extract import parse_document
from extract.template import VERSIONS
from tests.bench.parse_speed import cpu_times
from tests.corpus import random_truth
from tests.corpus.compare import cell_mismatches, error_issues, field_mismatches
from tests.corpus.layouts import GeneratedDoc
from tests.corpus.office import convert_all, render_office, soffice

DOCX_LAYOUTS = ("docx_template", "docx_fullwidth", "docx_blank_markers", "docx_split")


def _parser(doc: GeneratedDoc) -> object:
    return parse_document(doc.data, doc.name)


def _python_docx(doc: GeneratedDoc) -> object:
    import docx

    return [cell.text for table in docx.Document(io.BytesIO(doc.data)).tables for row in table.rows for cell in row.cells]


def _openpyxl(doc: GeneratedDoc) -> object:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(doc.data), data_only=True)
    return [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _pages(docs: list[GeneratedDoc]) -> list[int]:
    """Each document's page count as LibreOffice lays it out (its PDF export)."""
    pdfs = convert_all(docs, "pdf")
    return [len(re.findall(rb"/Type\s*/Page[^s]", d.data)) for d in pdfs]


def _report(label: str, times: list[float], pages: int | None) -> None:
    per_page = f"   {pages / sum(times):7.1f} pages/CPU-s" if pages else ""
    print(f"{label:<26} {len(times) / sum(times):7.1f} docs/CPU-s{per_page}   median {1000 * statistics.median(times):6.2f} ms/doc")


def accuracy(label: str, docs: list[GeneratedDoc]) -> None:
    cells = wrong = silent = 0
    for d in docs:
        got = parse_document(d.data, d.name).to_contract()
        bad = field_mismatches(d.truth, got) + cell_mismatches(d.truth, got)
        cells += len(d.truth["cells"])
        wrong += len(bad)
        silent += bool(bad) and not error_issues(got)
    print(f"{label}: {cells - wrong} of {cells} cells exact ({100 * (cells - wrong) / cells:.3f} %), "
          f"{silent} documents with silent errors")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="documents per format (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pages", action="store_true", help="skip the page count (a LibreOffice PDF export)")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    docx_docs = [render_office(random_truth(rng, rng.choice(VERSIONS)), DOCX_LAYOUTS[i % len(DOCX_LAYOUTS)], rng, name=f"{i}.docx")
                 for i in range(args.n)]
    xlsx_docs = [render_office(random_truth(rng, rng.choice(VERSIONS)), ("xlsx_sheets", "xlsx_one_sheet")[i % 2], rng, name=f"{i}.xlsx")
                 for i in range(args.n)]
    pages = sum(_pages(docx_docs)) if not args.no_pages and soffice() else None
    sizes = [len(d.data) for d in docx_docs]
    print(f"{args.n} DOCX ({statistics.median(sizes) / 1000:.1f} KB median"
          + (f", {pages} pages as LibreOffice lays them out" if pages else "") + f"), {args.n} XLSX; {args.repeat} rounds")
    docx_times, _ = cpu_times({"parse_document": _parser, "python-docx all cells": _python_docx}, docx_docs, args.repeat)
    for label, times in docx_times.items():
        _report(f"DOCX {label}", times, pages)
    ours, base = (sum(t) for t in docx_times.values())
    print(f"DOCX: parse_document is {base / ours:.2f}x python-docx reading the cells alone")
    xlsx_times, _ = cpu_times({"parse_document": _parser, "openpyxl all cells": _openpyxl}, xlsx_docs, args.repeat)
    for label, times in xlsx_times.items():
        _report(f"XLSX {label}", times, None)
    ours, base = (sum(t) for t in xlsx_times.values())
    print(f"XLSX: parse_document is {base / ours:.2f}x openpyxl reading the cells alone")
    accuracy("DOCX", docx_docs)
    accuracy("XLSX", xlsx_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
