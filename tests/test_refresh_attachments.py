"""`disclosure refresh` on a manifest of article pages served by a real loopback site: their attachments land,
and each page is one report in the warehouse, saying which source it used (the page's tables or the attachment),
with the page's title and publish date for a report read from an attachment."""

from __future__ import annotations

import os
import random

import duckdb
import pytest

from orchestration.warehouse.landing import SCHEMA_SQL, land
from tests.corpus import random_truth, render
from tests.test_fetch import html, page, start_site
from tests.test_fetch_attachments import ERROR_PAGE, PDF, article, attachment_report, title_of
from tests.test_refresh import refresh
from tests.warehouse_support import report_from_truth

pytestmark = pytest.mark.slow


def page_of(truth: dict, links: str) -> bytes:
    """An article page with the report's title and publish date and no tables: the body is the 附件 line."""
    title = title_of(truth)
    return html(f"<title>{title}</title><h1>{title}</h1><p>发布日期：{truth['published']}</p>"
                f"<p>{title}详见附件。</p>{links}")


@pytest.fixture(scope="module")
def warehouse(http_server_module, tmp_path_factory):
    rng = random.Random(20261201)
    read_truth, html_truth, pdf_truth = (random_truth(rng, "2021") for _ in range(3))
    html_page = render(html_truth, "html_template", rng, name="b.html").data.decode("utf-8")
    routes = {
        "/a/article.html": page(page_of(read_truth, "<p>附件：<a href='/module/download/downfile.jsp?filename=report.txt'>"
                                                    f"{title_of(read_truth)}.txt</a></p>")),
        # the attachment never names its agency: the page's link to it does
        "/module/download/downfile.jsp?filename=report.txt": page(attachment_report(read_truth, "本机关"), "application/octet-stream"),
        "/b/report.html": page(html_page.replace("</body>", "<p>附件：<a href='/b/report.pdf'>年度报告.pdf</a></p></body>").encode()),
        "/b/report.pdf": page(PDF, "application/pdf"),
        "/c/article.html": page(page_of(pdf_truth, "<p>附件1：<a href='/c/P020240120.pdf'>年度报告.pdf</a></p>"
                                                   "<p>附件2：<a href='/c/P020240120.docx'>年度报告.docx</a></p>")),
        "/c/P020240120.pdf": page(PDF, "application/octet-stream"),
        "/c/P020240120.docx": page(ERROR_PAGE),  # an error page under the Word file's name
    }
    base, site = start_site(http_server_module, routes)
    root = tmp_path_factory.mktemp("attachments")
    manifest = root / "sources.yml"
    manifest.write_text("settings:\n  allowed_hosts: 127.0.0.1\n  min_interval_seconds: 0\n  retries: 0\nsources:\n"
                        + "".join(f"  - url: {base}{p}\n" for p in ("/a/article.html", "/b/report.html", "/c/article.html")),
                        encoding="utf-8")
    target = root / "wh" / "disclosure.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCLOSURE_")}
    env.update(DAGSTER_HOME=str(root / "home"), DISCLOSURE_SOURCES=str(manifest), DISCLOSURE_LOCK_TIMEOUT="600")
    proc = refresh(env, "--warehouse", str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return base, target, (read_truth, html_truth, pdf_truth), (routes, env)


def query(target, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(target), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def report_of(target, page_uri: str) -> dict:
    rows = query(target, "select report_id, source_uri, report_source, attachment_uri, attachment_format, title, "
                         "published_on::varchar, agency_name, year, document_kind, gate_status "
                         "from marts.dim_report where page_uri = ? and gate_status <> 'retired'", [page_uri])
    assert len(rows) == 1, rows  # one report per page
    keys = ("report_id", "source_uri", "report_source", "attachment_uri", "attachment_format", "title", "published",
            "agency", "year", "document_kind", "gate_status")
    return dict(zip(keys, rows[0]))


def test_each_page_is_one_report(warehouse):
    base, target, *_ = warehouse
    pages = {f"{base}{p}" for p in ("/a/article.html", "/b/report.html", "/c/article.html")}
    assert {uri for (uri,) in query(target, "select page_uri from marts.dim_report")} == pages


def test_metadata_from_the_page_and_cells_from_the_attachment(warehouse):
    base, target, (truth, _, _), _ = warehouse
    report = report_of(target, f"{base}/a/article.html")
    assert report["source_uri"] == report["attachment_uri"] == f"{base}/module/download/downfile.jsp?filename=report.txt"
    assert (report["report_source"], report["attachment_format"]) == ("attachment", "text")
    assert report["title"] == title_of(truth)  # the page's title
    assert report["published"] == truth["published"]  # the attachment has no date: the page's
    assert (report["agency"], report["year"], report["gate_status"]) == (truth["agency"], truth["year"], "passed")
    cells = dict(query(target, "select metric_key, value from marts.fct_metric where report_id = ?", [report["report_id"]]))
    assert {k: cells.get(k) for k in truth["cells"]} == {k: pytest.approx(v) for k, v in truth["cells"].items()}


def test_a_page_with_tables_and_a_pdf_of_them_is_one_report_from_the_page(warehouse):
    base, target, (_, truth, _), _ = warehouse
    report = report_of(target, f"{base}/b/report.html")
    assert report["source_uri"] == f"{base}/b/report.html" and report["report_source"] == "page"
    assert (report["attachment_uri"], report["attachment_format"]) == (f"{base}/b/report.pdf", "pdf")
    assert (report["agency"], report["year"], report["gate_status"]) == (truth["agency"], truth["year"], "passed")
    # the PDF landed (stored, parsed, linked to its page), but it is not a second report
    assert query(target, "select page from raw.sources where source_uri = ?", [f"{base}/b/report.pdf"]) == [(f"{base}/b/report.html",)]
    assert query(target, "select count(*) from marts.dim_report where source_uri = ?", [f"{base}/b/report.pdf"]) == [(0,)]


def test_an_unreadable_attachment_is_the_report_with_its_issue_and_an_error_page_a_failed_fetch(warehouse):
    base, target, (_, _, truth), _ = warehouse
    report = report_of(target, f"{base}/c/article.html")
    assert report["source_uri"] == f"{base}/c/P020240120.pdf"  # not the page (no tables): the attachment, with its issue
    assert (report["report_source"], report["attachment_format"]) == ("attachment", "pdf")
    assert report["published"] == truth["published"] and report["title"].startswith(truth["agency"])
    codes = query(target, "select code from raw.issues where report_id = ?", [report["report_id"]])
    assert codes == [("decode_failure",)]  # a PDF that PDFium cannot open: the report, held with its reader's reason
    [(status, error, linked)] = query(target, "select fetch_status, fetch_error, page from raw.sources where source_uri = ?",
                                      [f"{base}/c/P020240120.docx"])
    assert status == "failed" and "answered with a text or HTML page" in error and linked == f"{base}/c/article.html"
    assert query(target, "select count(*) from raw.documents where source_uri = ?", [f"{base}/c/P020240120.docx"]) == [(0,)]


def test_a_work_db_from_before_attachments_gains_the_page_column(tmp_path):
    work_db = tmp_path / "work.duckdb"
    old = SCHEMA_SQL.split("-- warehouses made before attachments")[0]  # the schema as it was
    with duckdb.connect(str(work_db)) as con:
        con.execute(old)
        assert "page" not in [c for (c,) in con.execute("select column_name from information_schema.columns "
                                                        "where table_name = 'sources'").fetchall()]
    truth = {"document_kind": "not_annual_report", "cells": {}}
    land(work_db, [report_from_truth(truth, source="http://127.0.0.1:9/a.pdf")],
         sources=[{"source_uri": "http://127.0.0.1:9/a.pdf", "content_hash": report_from_truth(truth, source="x").content_hash,
                   "page": "http://127.0.0.1:9/a.html"}])
    with duckdb.connect(str(work_db), read_only=True) as con:
        assert con.execute("select page from raw.sources").fetchall() == [("http://127.0.0.1:9/a.html",)]


def test_a_page_that_drops_its_attachment_is_its_own_report_again(warehouse):
    """(Runs last: it changes the site.) The attachment the page no longer links is retired on its own."""
    base, target, (_, _, truth), (routes, env) = warehouse
    routes["/c/article.html"] = page(page_of(truth, "<p>附件已撤下。</p>"))
    proc = refresh(env, "--warehouse", str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = report_of(target, f"{base}/c/article.html")
    assert (report["source_uri"], report["report_source"], report["gate_status"]) == (f"{base}/c/article.html", "page", "not_applicable")
    assert query(target, "select gate_status, page_uri from marts.dim_report where source_uri = ?", [f"{base}/c/P020240120.pdf"]) == [
        ("retired", f"{base}/c/article.html")]
    assert report_of(target, f"{base}/a/article.html")["report_source"] == "attachment"  # the others unchanged
