"""PDF reading speed: pages per CPU-second of our reader against pdfplumber's own ``extract_tables()``, same files, same run.

    uv run python -m tests.bench.pdf_speed [--n 12] [--seed 7] [--repeat 3]

The files are generated reports printed by headless Chromium (``tests.corpus.pdf``, text layer only).
Per file and side, CPU time (``time.process_time``) of ``--repeat`` runs taken in turns, the median kept:
``extract.readers.pdf.read`` (characters, ruling lines, grids, tokens), the whole ``parse_document``
(the same plus the table reader and metadata: cells out), and pdfplumber opening the file and calling
``extract_tables()`` on every page (tables only, no cells placed). Also counts the cells that came out
exact against the known truth. It reports; it does not assert.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import time

from extract import parse_document
from extract.readers.pdf import read
from tests.corpus.compare import cell_mismatches
from tests.corpus.pdf import generate_pdfs


def _plumber(data: bytes) -> None:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_tables()


def _cpu(fn, data: bytes) -> float:
    start = time.process_time()
    fn(data)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import pypdfium2 as pdfium

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # (pdfplumber's parser warns about Chromium's font descriptors)

    docs = [d for d in generate_pdfs(args.n, seed=args.seed) if d.layout == "pdf_text"]
    pages = sum(len(pdfium.PdfDocument(d.data)) for d in docs)
    sides = {"pdf reader (tokens)": read, "parse_document (cells)": lambda b: parse_document(b, "x.pdf"),
             "pdfplumber extract_tables": _plumber}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for d in docs:
        runs: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.repeat):
            for name, fn in sides.items():
                runs[name].append(_cpu(fn, d.data))
        for name in sides:
            times[name].append(statistics.median(runs[name]))
    total = sum(len(d.truth["cells"]) for d in docs)
    wrong = sum(len(cell_mismatches(d.truth, parse_document(d.data, d.name).to_contract())) for d in docs)
    print(f"{len(docs)} PDFs, {pages} pages; cells exact {total - wrong}/{total}")
    base = sum(times["pdfplumber extract_tables"])
    for name, ts in times.items():
        cpu = sum(ts)
        print(f"{name:28s} {pages / cpu:8.1f} pages/CPU-s  {1000 * cpu / pages:7.1f} ms/page  "
              f"{base / cpu:5.1f}x pdfplumber")


if __name__ == "__main__":
    main()
