"""Named page layouts, ``render`` and ``generate``: known truth written out the many ways sites do it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .agencies import published_date, random_agency, random_year
from .pages import _heading, _para, html_page, paragraph, text_page, title_of
from .tables import Style
from .truth import RULES, inject_inconsistency, random_truth


@dataclass
class GeneratedDoc:
    name: str
    data: bytes
    headers: dict[str, str]
    truth: dict[str, Any]  # the parse contract shape plus expected_rule_failures / expected_errors
    layout: str
    meta: dict[str, Any] = field(default_factory=dict)  # facts about the rendering (e.g. encoding)


# ---- report layouts: each returns the Style of one way sites publish the template
def html_template(rng: random.Random) -> Style:
    """The official table markup (rowspan/colspan), UTF-8 declared."""
    return Style(charset=rng.choice(("meta", "http_equiv")))


def html_word(rng: random.Random) -> Style:
    """Word's 'save as web page': MsoNormal paragraphs, <o:p>, nested spans, mso styles."""
    return Style(word=True, charset="http_equiv", spaced_labels=rng.random() < 0.5, split_runs=rng.random() < 0.5)


def html_gbk_declared(rng: random.Random) -> Style:
    return Style(encoding="gbk", charset=rng.choice(("meta", "http_equiv")))


def _fixed(doc: str, **style: Any) -> Callable[[random.Random], Style]:
    """A layout that is always the same variation of the template page."""
    def layout(rng: random.Random) -> Style:
        return Style(**style)
    layout.__doc__ = doc
    return layout


html_gbk_undeclared = _fixed("GBK bytes and no charset anywhere: neither a meta tag nor the HTTP header.", encoding="gbk", charset="none")
html_gbk_header_only = _fixed("GBK bytes, the charset only in the HTTP Content-Type header.", encoding="gbk", charset="header")
html_utf8_bom = _fixed("UTF-8 with a byte-order mark and no declaration.", charset="bom")
html_charset_lies = _fixed("UTF-8 bytes under a <meta> that says gb2312 (a CMS template written for GBK).", charset="wrong")
html_merged = _fixed("All three tables in one <table>, section titles as full-width rows.", merged=True)
html_th = _fixed("Header cells as <th> (in <thead> where the table starts with headers).", th=True)
html_review_vertical = _fixed("Table 四 as 3 rows x 5 columns instead of the template's 1 x 15.", review_vertical=True)
html_review_transposed = _fixed("Table 四 turned: a row per result (结果维持 … 总计), a column per kind of case.", review_transposed=True)
html_blank_markers = _fixed("Zeros written as empty, -, —, ——, /, 无.", blank_markers=True)
html_fullwidth = _fixed("Full-width digits.", fullwidth=True)
html_thousands = _fixed("Thousands separators (1,234).", thousands=True)
html_simplified = _fixed("Table 三 retyped: one header row, no 法人或其他组织 span, no 三、本年度办理结果 column.", simplified=True)
html_unmerged = _fixed("No rowspan/colspan: merged cells split into text plus empty cells (pasted from Excel).", unmerged=True)


def html_cms(rng: random.Random) -> Style:
    """An old CMS page: upper-case tags, end tags left out, <font>, &nbsp; padding, the article nested in a layout table."""
    return Style(cms=True, layout_table=True, halfwidth_labels=rng.random() < 0.5)


def html_units(rng: random.Random) -> Style:
    """Values with units (件); the procurement amount in 万元, said in the header or in the value."""
    return Style(units=True, wan=rng.choice(("header", "value")))


def html_mixed(rng: random.Random) -> Style:
    """Several of the variations at once, as real pages combine them."""
    flip = lambda p=0.35: rng.random() < p  # noqa: E731
    enc, word = "gbk" if flip() else "utf-8", flip()
    charsets = ("meta", "http_equiv", "header", "none") + (("bom", "wrong") if enc == "utf-8" else ())
    return Style(encoding=enc, charset=rng.choice(charsets), word=word, th=flip(),
                 merged=flip(0.2), review_vertical=flip(0.25), blank_markers=flip(), fullwidth=flip(0.2),
                 thousands=flip(), units=flip(0.25), wan=rng.choice(("", "", "header", "value")), spaced_labels=flip(0.2),
                 split_runs=flip(), cms=flip(0.2), layout_table=flip(0.25), halfwidth_labels=flip(0.25),
                 unmerged=flip(0.15) and not word, simplified=flip(0.15))  # Word's markup unmerged outgrows 60 KB


def text_lines(rng: random.Random) -> Style:
    """Scraped text, one cell per line with blank lines between (seeds 000/001)."""
    return Style(text="lines", blank_markers=rng.random() < 0.3, thousands=rng.random() < 0.3)


def text_pipes(rng: random.Random) -> Style:
    """Scraped text, cells ending in ` |` with `|` runs between rows (seeds 002/003)."""
    return Style(text="pipes", blank_markers=rng.random() < 0.3, thousands=rng.random() < 0.3)


def text_split_headers(rng: random.Random) -> Style:
    """Scraped text, one cell per line, column headers wrapped over two or three lines (商业 / 企业)."""
    return Style(text=rng.choice(("lines", "pipes")), split_headers=True, empty_cells=rng.random() < 0.3)


def text_rows(rng: random.Random) -> Style:
    """Scraped text, one line per table row with ` | ` between its cells."""
    return Style(text="rows", blank_markers=rng.random() < 0.3, thousands=rng.random() < 0.3)


text_lines_empty = _fixed("Scraped text, one cell per line, zeros often as empty cells: an empty line in the cell's place.",
                          text="lines", empty_cells=True)
text_pipes_empty = _fixed("Scraped text, cells ending in ` |`, zeros often as empty cells: the separator alone on its line.",
                          text="pipes", empty_cells=True)


def text_review_columns(rng: random.Random) -> Style:
    """Scraped text, table 四 turned (a row per result): its values one per line in column order, or a row per line."""
    return Style(text=rng.choice(("lines", "pipes", "rows")), review_transposed=True, empty_cells=rng.random() < 0.5)


def text_rows_empty(rng: random.Random) -> Style:
    """Scraped text, a line per row, zeros often as empty cells: nothing between two separators (markdown or not)."""
    return Style(text="rows", empty_cells=True, borders=rng.random() < 0.4, thousands=rng.random() < 0.3)


REPORT_LAYOUTS: dict[str, Callable[[random.Random], Style]] = {
    "html_template": html_template, "html_word": html_word, "html_gbk_declared": html_gbk_declared,
    "html_gbk_undeclared": html_gbk_undeclared, "html_gbk_header_only": html_gbk_header_only, "html_utf8_bom": html_utf8_bom,
    "html_charset_lies": html_charset_lies, "html_merged": html_merged,
    "html_th": html_th, "html_review_vertical": html_review_vertical, "html_review_transposed": html_review_transposed, "html_blank_markers": html_blank_markers,
    "html_fullwidth": html_fullwidth, "html_thousands": html_thousands, "html_units": html_units,
    "html_cms": html_cms, "html_unmerged": html_unmerged,
    "html_simplified": html_simplified, "html_mixed": html_mixed, "text_lines": text_lines, "text_pipes": text_pipes,
    "text_rows": text_rows, "text_lines_empty": text_lines_empty, "text_pipes_empty": text_pipes_empty,
    "text_rows_empty": text_rows_empty, "text_review_columns": text_review_columns,
    "text_split_headers": text_split_headers,
}


# ---- pages that are about disclosure work but are not template reports
def news_article(truth: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    title = f"{truth['agency']}召开{truth['year']}年政务公开工作推进会"
    body = "".join(_para(paragraph(truth, rng), Style()) for _ in range(rng.randint(3, 6)))
    body += _para(f"会议要求，各科室要认真做好{truth['year']}年政府信息公开工作年度报告编制工作，按时向社会公布。", Style())
    return title, body


def work_report_no_tables(truth: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """A 政务公开工作落实情况 report (like seed 004): numbers in prose, none of the template tables."""
    title = f"{truth['agency']}{truth['year']}年政务公开工作落实情况"
    body = _para(f"根据《{truth['year']}年政务公开工作主要任务》要求，现将我局{truth['year']}年政务公开工作落实情况报告如下：", Style())
    for i, h in enumerate(("一、政府工作做到公开透明", "二、做好权责清单调整工作", "三、深化“放管服”改革信息公开")):
        body += _heading(h, Style()) + _para(paragraph(truth, rng), Style())
    return title, body


def attachment_only(truth: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """The report page carries only a PDF or Word attachment."""
    title = title_of(truth, rng)
    ext = rng.choice(("pdf", "doc", "docx"))
    body = (f"<p>{title}详见附件。</p><p>附件：<a href=\"/uploads/{rng.getrandbits(40):x}.{ext}\">"
            f"{title}.{ext}</a></p>")
    return title, body


def image_only(truth: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """The report shown as scanned images."""
    title = title_of(truth, rng)
    body = "".join(f'<p style="text-align:center"><img src="/uploads/{rng.getrandbits(40):x}.jpg" alt="{title}" width="600"/></p>'
                   for _ in range(rng.randint(2, 6)))
    return title, body


def report_index(truth: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """A listing page of annual reports (what a crawl of a 年报 column finds first)."""
    items = "".join(
        f'<li><a href="/zwgk/ndbg/{rng.getrandbits(32):x}.html">{random_agency(rng).name}{truth["year"] - i % 3}'
        f'年政府信息公开工作年度报告</a><span class="date">{published_date(rng, truth["year"] - i % 3)}</span></li>'
        for i in range(rng.randint(10, 20)))
    return "政府信息公开年报", f'<ul class="list">{items}</ul><div class="page">共5页 <a>下一页</a> <a>尾页</a></div>'


def disclosure_guide(truth: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """A 政府信息公开指南: about requests, review and litigation, but no report and no tables."""
    title = f"{truth['agency']}政府信息公开指南"
    parts = ("一、主动公开", "二、依申请公开", "三、收费标准", "四、监督和救济")
    text = ("公民、法人或者其他组织可以通过信函、传真、网上申请等方式向本机关申请获取政府信息。"
            "本机关收到申请后，能够当场答复的当场予以答复；不能当场答复的，自收到申请之日起20个工作日内予以答复。"
            "申请人认为本机关在政府信息公开工作中侵犯其合法权益的，可以依法申请行政复议或者提起行政诉讼。")
    return title, "".join(_heading(h, Style()) + _para(text, Style()) for h in parts[: rng.randint(2, 4)])


OTHER_LAYOUTS: dict[str, Callable[[dict[str, Any], random.Random], tuple[str, str]]] = {
    f.__name__: f for f in (news_article, work_report_no_tables, attachment_only, image_only, report_index, disclosure_guide)
}
LAYOUTS = (*REPORT_LAYOUTS, *OTHER_LAYOUTS)


def _headers(style: Style) -> dict[str, str]:
    if style.text:
        return {}
    if style.charset == "header":
        return {"Content-Type": f"text/html; charset={style.encoding}"}
    return {"Content-Type": "text/html"}


def other_truth(rng: random.Random) -> dict[str, Any]:
    """Truth of a page that is not a template report: classified, never given numbers."""
    agency, year = random_agency(rng), random_year(rng)
    return {"document_kind": "not_annual_report", "template_version": None, "agency": agency.name, "year": year,
            "published": published_date(rng, year).isoformat(), "cells": {}, "expected_rule_failures": [],
            "expected_errors": [], "publisher": agency.short, "site": agency.site, "host": agency.host}


def render(truth: dict[str, Any], layout: str, rng: random.Random, name: str | None = None) -> GeneratedDoc:
    """Write ``truth`` in ``layout`` (a name from ``LAYOUTS``)."""
    if layout in OTHER_LAYOUTS:
        title, body = OTHER_LAYOUTS[layout](truth, rng)
        style = replace(html_template(rng), encoding=rng.choice(("utf-8", "utf-8", "gbk")))
        target = rng.randint(20_000, 45_000) if layout in ("news_article", "work_report_no_tables") else 0
        data = html_page(truth, style, rng, body=body, title=title, target=target)
    elif layout in REPORT_LAYOUTS:
        style = REPORT_LAYOUTS[layout](rng)
        data = text_page(truth, style, rng) if style.text else html_page(truth, style, rng)
    else:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    ext = "txt" if layout.startswith("text_") else "html"
    return GeneratedDoc(name or f"{layout}.{ext}", data, _headers(style), truth, layout,
                        {"encoding": style.encoding, "charset": style.charset})


def generate(n: int, seed: int = 0, layouts: Iterable[str] | None = None, inconsistent_share: float = 0.0) -> list[GeneratedDoc]:
    """``n`` documents mixing ``layouts`` (default: every report layout, plus ~1 in 10 non-report pages).

    Deterministic per ``seed``. ``inconsistent_share`` of the reports break one rule (R1–R5).
    """
    rng = random.Random(seed)
    chosen = list(layouts) if layouts is not None else None
    docs = []
    for i in range(n):
        if chosen is not None:
            layout = chosen[i % len(chosen)]
        elif rng.random() < 0.1:
            layout = rng.choice(list(OTHER_LAYOUTS))
        else:
            layout = rng.choice(list(REPORT_LAYOUTS))
        if layout in OTHER_LAYOUTS:
            truth = other_truth(rng)
        else:
            truth = random_truth(rng, "2019" if rng.random() < 0.35 else "2021")
            if rng.random() < inconsistent_share:
                truth, _ = inject_inconsistency(truth, rng.choice(RULES), rng)
        ext = "txt" if layout.startswith("text_") else "html"
        docs.append(render(truth, layout, rng, name=f"{i:05d}_{layout}.{ext}"))
    return docs


def write_corpus(docs: Iterable[GeneratedDoc], folder: str | Path) -> Path:
    """Write the documents to ``folder/documents/`` and their truth to ``folder/truth.jsonl``; return ``folder``.

    The truth sits beside the documents folder, so the folder can be handed to ``disclosure parse``
    or ``disclosure refresh --sources`` as it is. One line per document: name, layout, headers, truth.
    """
    folder = Path(folder)
    (folder / "documents").mkdir(parents=True, exist_ok=True)
    with (folder / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for d in docs:
            (folder / "documents" / d.name).write_bytes(d.data)
            fh.write(json.dumps({"name": d.name, "layout": d.layout, "headers": d.headers, "truth": d.truth},
                                ensure_ascii=False) + "\n")
    return folder
