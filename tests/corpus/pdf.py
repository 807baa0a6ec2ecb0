"""Generated reports as PDF, made by real tools: report HTML printed by headless Chromium, some scanned back.

Each PDF is a title page and then the report (narrative, the four tables, narrative after), printed on
A4 or Letter, portrait or landscape, at a font size that makes tables break across pages (with their
header rows repeated when the table has a ``<thead>``), with a page header (the title) and a footer
(第 N 页 共 M 页) on every page. ``scanned`` PDFs are the same pages rasterised by poppler's
``pdftoppm`` and wrapped back into a PDF by img2pdf: no text layer, so the truth is an ``image_only`` error.
``no_unicode`` PDFs have their fonts' /ToUnicode maps removed (pikepdf): garbage text, ``unreadable_text_layer``.

Chromium is Debian's (``make browser``), driven by playwright; CJK glyphs come from ``fonts-noto-cjk``.
Generated files are cached by seed and count under ``tests/.generated/`` (gitignored).
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import random
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from .layouts import GeneratedDoc
from .pages import cn_date, html_page, title_of
from .tables import Style
from .truth import random_truth

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CACHE = Path(__file__).resolve().parents[1] / ".generated" / "pdf"
PDF_KINDS = ("text", "scanned", "no_unicode")
_HEADER = "<div style=\"font-size:8px;width:100%;text-align:center;font-family:'Noto Sans CJK SC'\"><span class=title></span></div>"
_FOOTER = ("<div style=\"font-size:8px;width:100%;text-align:center;font-family:'Noto Sans CJK SC'\">"
           "第 <span class=pageNumber></span> 页 共 <span class=totalPages></span> 页</div>")


def report_html(truth: dict[str, Any], rng: random.Random, ruled: bool = True) -> tuple[str, dict[str, Any]]:
    """A report page as an office export prints it: no site chrome, a title page, ruled tables (or, not ``ruled``,
    tables without a single line: their cells only placed by the gaps between them)."""
    flip = lambda p=0.35: rng.random() < p  # noqa: E731
    word, vertical = flip(0.25), flip(0.2)
    style = Style(chrome=False, th=flip(0.5), blank_markers=flip(), thousands=flip(), fullwidth=flip(0.2),
                  units=flip(0.2), wan=rng.choice(("", "", "header", "value")), review_vertical=vertical,
                  review_transposed=not vertical and flip(0.15), word=word, merged=flip(0.15), simplified=flip(0.15),
                  unmerged=not word and flip(0.1), spaced_labels=flip(0.2), halfwidth_labels=flip(0.2))
    style = replace(style, charset="meta")
    title = title_of(truth, rng)
    page = html_page(truth, style, rng, title=title, target=rng.randint(8_000, 16_000)).decode("utf-8")
    print_opts = {"format": rng.choice(("A4", "Letter")), "landscape": flip(0.35)}
    font = rng.choice((9, 10.5, 12, 14))
    css = ("<style>body{font-family:'Noto Serif CJK SC','Noto Sans CJK SC',serif;font-size:%spt}"
           "table{border-collapse:collapse;width:100%%}td,th{border:0.75pt solid #000;padding:2pt 3pt}"
           "thead{display:table-header-group}tr{page-break-inside:avoid}</style>" % font)
    cover = (f'<div style="page-break-after:always;text-align:center;padding-top:30%">'
             f'<h1 style="font-size:22pt">{html.escape(title)}</h1><p>{html.escape(truth["agency"])}</p>'
             f'<p>{cn_date(truth["published"])}</p></div>')
    if not ruled:
        css = css.replace("border:0.75pt solid #000", "border:none")
        page = page.replace('border="1"', 'border="0"').replace("border=1", "border=0")
    page = page.replace("</head>", css + "</head>", 1).replace("<body>", "<body>" + cover, 1)
    return page, {**print_opts, "font_pt": font, "thead": style.th, "word": style.word}


def print_pdfs(pages: list[str], opts: list[dict[str, Any]]) -> list[bytes]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        for page, o in zip(pages, opts):
            tab.set_content(page, wait_until="load")
            out.append(tab.pdf(format=o["format"], landscape=o["landscape"], display_header_footer=True,
                               header_template=_HEADER, footer_template=_FOOTER, print_background=True,
                               margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}))
        browser.close()
    return out


def scan(pdf: bytes, dpi: int = 60) -> bytes:
    """The pages as images (poppler's pdftoppm), wrapped back into a PDF (img2pdf): a scan, no text layer."""
    import img2pdf

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-jpeg", str(src), str(Path(tmp) / "p")], check=True, timeout=120)
        images = sorted(str(p) for p in Path(tmp).glob("p*.jpg"))
        return img2pdf.convert(images)


def strip_unicode_maps(pdf: bytes) -> bytes:
    """The same PDF with every font's /ToUnicode removed (pikepdf): the glyphs stay, their text becomes garbage."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font" and "/ToUnicode" in obj:
                del obj["/ToUnicode"]
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def _no_text_truth(truth: dict[str, Any], code: str) -> dict[str, Any]:
    t = copy.deepcopy(truth)
    t["expected_errors"] = [{"code": code, "table": None}]
    return t


def generate_pdfs(n: int, seed: int = 0, kinds: tuple[str, ...] = PDF_KINDS, weights: tuple[int, ...] = (8, 1, 1)) -> list[GeneratedDoc]:
    """``n`` PDFs with known truth, mixing ``kinds`` by ``weights``; cached under ``CACHE`` by seed and count."""
    key = hashlib.sha256(json.dumps([n, seed, kinds, weights, Path(__file__).read_text(encoding="utf-8")]).encode()).hexdigest()[:16]
    folder = CACHE / key
    index = folder / "truth.jsonl"
    if index.exists():
        rows = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines()]
        return [GeneratedDoc(r["name"], (folder / r["name"]).read_bytes(), {}, r["truth"], r["layout"], r["meta"]) for r in rows]
    rng = random.Random(seed)
    truths, chosen, pages, opts = [], [], [], []
    for _ in range(n):
        truth = random_truth(rng, "2019" if rng.random() < 0.35 else "2021")
        page, o = report_html(truth, rng)
        truths.append(truth)
        chosen.append(rng.choices(kinds, weights)[0])
        pages.append(page)
        opts.append(o)
    printed = print_pdfs(pages, opts)
    docs = []
    for i, (truth, kind, pdf, o) in enumerate(zip(truths, chosen, printed, opts)):
        if kind == "scanned":
            pdf, truth = scan(pdf), _no_text_truth(truth, "image_only")
        elif kind == "no_unicode":
            pdf, truth = strip_unicode_maps(pdf), _no_text_truth(truth, "unreadable_text_layer")
        docs.append(GeneratedDoc(f"{i:04d}_pdf_{kind}.pdf", pdf, {}, truth, f"pdf_{kind}", o))
    folder.mkdir(parents=True, exist_ok=True)
    for d in docs:
        (folder / d.name).write_bytes(d.data)
    index.write_text("".join(json.dumps({"name": d.name, "layout": d.layout, "truth": d.truth, "meta": d.meta},
                                        ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return docs
