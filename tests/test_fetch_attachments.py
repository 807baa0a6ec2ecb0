"""Article pages that link the report as an attachment: the fetcher follows the links (same site, report-like,
bounded count and size, through the same client and SSRF guard), stores each attachment content-addressed and
says which page linked it; the format is read from the bytes, never from the name or the Content-Type."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import re
import zipfile
from dataclasses import replace
from pathlib import Path

from extract import parse_document
from orchestration.fetching import Manifest, RawStore, SourceSpec, fetch_sources, load_manifest, manifest_for
from orchestration.fetching.attachments import find_attachments
from tests.corpus import random_truth, render
from tests.test_fetch import FAST, html, page, redirect, start_site

# A hand-written PDF (no page PDFium can open) and an empty DOCX container (a real ZIP): told apart by their
# bytes, whatever their names, and read by their readers: the PDF's damage and the DOCX's emptiness are said.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ERROR_PAGE = html("<h1>404</h1><p>您访问的页面不存在或已被删除</p>")
TITLE = "厦门市集美区科技局2023年政府信息公开工作年度报告"


@functools.cache  # one zip: its entries carry the time they were written (two calls across a 2 s tick differ)
def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>')
    return buffer.getvalue()


def article(links: str) -> bytes:
    """An article page as CMSs write it: navigation (a link back to the 年报 column), the body's one 附件 line."""
    return html(f'<div class="nav"><a href="/">首页</a> &gt; <a href="/xxgk/ndbg/">政府信息公开年报</a></div>'
                f"<h1>{TITLE}</h1><p>发布日期：2024-01-20</p><div class=\"content\"><p>{TITLE}详见附件。</p>{links}</div>"
                f'<div class="footer"><a href="/files/guide.doc">政府信息公开申请表</a></div>')


def attachment_report(truth: dict, agency: str | None = None) -> bytes:
    """The report as a plain-text attachment holding the tables, without the publish date (the page has it);
    ``agency``: what it calls the agency instead of its name (本机关: only the page names it)."""
    data = render(truth, "text_lines", random.Random(3), name="a.txt").data.decode("utf-8")
    data = re.sub(r"^\s*日期[:：].*$", "", data, flags=re.M)
    return (data.replace(truth["agency"], agency) if agency else data).encode("utf-8")


def title_of(truth: dict) -> str:
    return f"{truth['agency']}{truth['year']}年政府信息公开工作年度报告"


def fetched(results, uri):
    return next(r for r in results if r.source_uri == uri)


def test_an_article_page_links_a_pdf_and_a_docx_named_error_page(http_server, tmp_path):
    off_site, other = start_site(http_server, {"/x.pdf": page(PDF, "application/pdf")})
    off_site = off_site.replace("127.0.0.1", "localhost")  # another host: never followed
    links = (f'<p>附件：<a href="/module/download/downfile.jsp?classid=0&filename=P020240120.pdf">{TITLE}.pdf</a></p>'
             f'<p>附件2：<a href="/files/P020240120_2.docx">{TITLE}（Word版）.docx</a></p>'
             f'<p><a href="/files/word.bin" title="{TITLE}.docx">下载Word版</a></p>'
             f'<p><a href="{off_site}/x.pdf">{TITLE}.pdf（镜像）</a></p>')
    base, site = start_site(http_server, {
        "/art/t20240120_1.html": page(article(links)),
        "/module/download/downfile.jsp?classid=0&filename=P020240120.pdf": page(PDF, "application/pdf"),
        "/files/P020240120_2.docx": page(ERROR_PAGE, "text/html; charset=utf-8"),  # a CMS error page under the .docx name
        "/files/word.bin": page(docx_bytes(), "application/octet-stream"),
    })
    page_url = f"{base}/art/t20240120_1.html"
    store = RawStore(tmp_path / "raw")
    results = fetch_sources(Manifest([SourceSpec("url", page_url, agency_hint="集美区科技局")]), store, FAST)

    pdf_url = f"{base}/module/download/downfile.jsp?classid=0&filename=P020240120.pdf"
    pdf, docx = fetched(results, pdf_url), fetched(results, f"{base}/files/word.bin")
    for attachment, data in ((pdf, PDF), (docx, docx_bytes())):
        assert attachment.status == "fetched" and attachment.page == page_url, attachment
        assert attachment.content_hash == hashlib.sha256(data).hexdigest() and store.get(attachment.content_hash) == data
        assert attachment.agency_hint == "集美区科技局"  # the page's hint goes with its attachments
        assert attachment.to_record()["page"] == page_url
    assert pdf.title_hint == TITLE and docx.title_hint is None  # the link text, when it reads as a title (not 下载Word版)
    error_page = fetched(results, f"{base}/files/P020240120_2.docx")
    assert error_page.status == "failed" and error_page.page == page_url and error_page.content_hash is None
    assert "answered with a text or HTML page" in error_page.error and "text/html" in error_page.error
    refused = fetched(results, f"{off_site}/x.pdf")
    assert refused.status == "failed" and "another site" in refused.error and not other.requests
    # navigation, the footer's form and the page itself are not attachments; nothing else was requested
    assert {r.source_uri for r in results} == {page_url, pdf_url, f"{base}/files/word.bin", f"{base}/files/P020240120_2.docx", f"{off_site}/x.pdf"}
    assert not site.seen("/xxgk/ndbg/") and not site.seen("/files/guide.doc")
    # the format is the bytes': a DOCX served as application/octet-stream is Word, the PDF's name does not matter
    for attachment, fmt, code in ((pdf, "pdf", "decode_failure"), (docx, "docx", "not_a_report")):
        report = parse_document(store.get(attachment.content_hash), attachment.source_uri, attachment.headers)
        assert report.input_format == fmt
        assert [i.code for i in report.issues] == [code]


def test_a_pdf_named_html_is_a_pdf_and_an_unchanged_page_keeps_its_attachments(http_server, tmp_path):
    base, site = start_site(http_server, {
        "/art/a.html": page(article(f'<p>附件：<a href="/att/report.html">{TITLE}</a></p>'), "text/html"),
        "/att/report.html": page(PDF, "text/html"),  # a PDF served as an HTML page
    })
    store = RawStore(tmp_path / "raw")
    manifest = Manifest([SourceSpec("url", f"{base}/art/a.html")])
    first = fetch_sources(manifest, store, FAST)
    attachment = fetched(first, f"{base}/att/report.html")
    assert attachment.status == "fetched" and attachment.page == f"{base}/art/a.html"
    assert parse_document(store.get(attachment.content_hash), attachment.source_uri, attachment.headers).input_format == "pdf"
    second = fetch_sources(manifest, store, FAST)
    assert [(r.source_uri, r.status, r.page) for r in second] == [
        (f"{base}/art/a.html", "unchanged", None), (f"{base}/att/report.html", "unchanged", f"{base}/art/a.html")]


def test_attachment_limits_count_size_and_the_address_guard(http_server, tmp_path):
    many = "".join(f'<p>附件{i}：<a href="/files/r{i}.pdf">{TITLE}（{i}）.pdf</a></p>' for i in range(6))
    big = "<p>附件：<a href='/files/big.pdf'>" + TITLE + ".pdf</a></p>"
    inside = "<p>附件：<a href='/files/moved.pdf'>" + TITLE + ".pdf</a></p>"
    routes = {f"/files/r{i}.pdf": page(PDF + str(i).encode(), "application/pdf") for i in range(6)}
    base, site = start_site(http_server, {
        **routes,
        "/art/many.html": page(article(many)),
        "/art/big.html": page(article(big)),
        "/art/ssrf.html": page(article(inside)),
        "/files/big.pdf": page(PDF + b"0" * 5000, "application/pdf"),
        "/files/moved.pdf": redirect("http://127.0.0.2:9/report.pdf"),  # on-site link, redirected to a loopback host not allowed
    })
    config = replace(FAST, attachment_max_links=2, attachment_max_bytes=2000)
    results = fetch_sources(Manifest([SourceSpec("url", f"{base}/art/{name}.html") for name in ("many", "big", "ssrf")]),
                            RawStore(tmp_path / "raw"), config)
    by_uri = {r.source_uri: r for r in results}
    kept = [by_uri[f"{base}/files/r{i}.pdf"] for i in range(6)]
    assert [r.status for r in kept] == ["fetched", "fetched"] + ["failed"] * 4
    assert all("attachment cap: more than 2 attachment link(s)" in r.error for r in kept[2:])
    assert [site.counts[f"/files/r{i}.pdf"] for i in range(6)] == [1, 1, 0, 0, 0, 0]  # left ones are never requested
    assert by_uri[f"{base}/files/big.pdf"].error.startswith("oversize")
    moved = by_uri[f"{base}/files/moved.pdf"]
    assert moved.status == "failed" and moved.error.startswith("refused: 127.0.0.2")
    assert all(by_uri[f"{base}/art/{n}.html"].status == "fetched" for n in ("many", "big", "ssrf"))


def test_no_attachments_followed_when_the_setting_is_zero(http_server, tmp_path):
    base, site = start_site(http_server, {"/art/a.html": page(article(f'<p>附件：<a href="/f.pdf">{TITLE}.pdf</a></p>')),
                                          "/f.pdf": page(PDF, "application/pdf")})
    results = fetch_sources(Manifest([SourceSpec("url", f"{base}/art/a.html")]), RawStore(tmp_path / "raw"),
                            replace(FAST, attachment_max_links=0))
    assert [r.source_uri for r in results] == [f"{base}/art/a.html"] and not site.seen("/f.pdf")


def test_a_local_article_page_links_attachments_inside_the_manifest_folder_only(tmp_path):
    root = tmp_path / "corpus"
    (root / "pages").mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / "report.htm").write_text(f"<h1>{TITLE}</h1>", encoding="utf-8")
    (tmp_path / "secret.pdf").write_bytes(PDF)
    (root / "pages" / "article.html").write_bytes(article(
        f'<p>附件：<a href="../files/report.htm">{TITLE}.htm</a></p>'
        f'<p>附件：<a href="../../secret.pdf">{TITLE}.pdf</a></p>'
        f'<p>附件：<a href="http://127.0.0.1:9/remote.pdf">{TITLE}.pdf</a></p>'))
    (root / "sources.yml").write_text("sources:\n  - path: pages/\n    agency: 集美区科技局\n", encoding="utf-8")
    results = fetch_sources(load_manifest(root / "sources.yml"), RawStore(tmp_path / "raw"), FAST)
    by_uri = {r.source_uri: r for r in results}
    page_path = str((root / "pages" / "article.html").resolve())
    attachment = by_uri[str((root / "files" / "report.htm").resolve())]
    assert attachment.status == "fetched" and attachment.page == page_path and attachment.agency_hint == "集美区科技局"
    outside = by_uri[str((tmp_path / "secret.pdf").resolve())]
    assert outside.status == "failed" and "outside" in outside.error and outside.page == page_path
    assert "another site" in by_uri["http://127.0.0.1:9/remote.pdf"].error
    assert len(results) == 4


def test_which_links_are_attachments():
    page_url = "http://www.example.gov.cn/art/2024/1/20/art_1.html"
    found = find_attachments(article(
        f'<p>附件：<a href="P020240120412345678.pdf">P020240120412345678.pdf</a></p>'  # a TRS file name: marked 附件
        f'<a href="/module/download/downfile.jsp?filename=x.pdf">{TITLE}</a>'
        f'<a href="/art/2023/1/20/art_2.html">2022年政府信息公开工作年度报告</a>'  # last year's report page: no file
        f'<a href="/u/%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A.xlsx">下载</a>'  # the file name (年度报告.xlsx) says it
        f'<a href="art_1.html#top">{TITLE}.pdf</a>'  # the page itself
    ).decode(), page_url)
    assert [(link.url, link.binary_name) for link in found.links] == [
        ("http://www.example.gov.cn/art/2024/1/20/P020240120412345678.pdf", True),
        ("http://www.example.gov.cn/module/download/downfile.jsp?filename=x.pdf", True),
        ("http://www.example.gov.cn/u/%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A.xlsx", True)]


def test_an_article_page_found_on_a_listing_has_its_attachment_fetched(http_server, tmp_path):
    listing = html(f'<ul class="list"><li><a href="/art/a.html">{TITLE}</a></li></ul>')
    base, site = start_site(http_server, {"/ndbg/index.html": page(listing),
                                          "/art/a.html": page(article(f'<p>附件：<a href="/f/r.pdf">{TITLE}.pdf</a></p>')),
                                          "/f/r.pdf": page(PDF, "application/pdf")})
    results = fetch_sources(Manifest([SourceSpec("listing", f"{base}/ndbg/index.html", link_text="年度报告")]),
                            RawStore(tmp_path / "raw"), FAST)
    assert [(r.source_uri, r.status, r.listing, r.page) for r in results] == [
        (f"{base}/art/a.html", "fetched", f"{base}/ndbg/index.html", None),
        (f"{base}/f/r.pdf", "fetched", f"{base}/ndbg/index.html", f"{base}/art/a.html")]


def test_an_attachment_the_manifest_also_lists_is_fetched_once_and_still_linked_to_its_page(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a_article.html").write_bytes(article(f'<p>附件：<a href="z_report.pdf">{TITLE}.pdf</a></p>'))
    (docs / "z_report.pdf").write_bytes(PDF)  # a downloaded site: the page and its attachment side by side
    results = fetch_sources(manifest_for(docs), RawStore(tmp_path / "raw"), FAST)
    assert [(Path(r.source_uri).name, r.status, r.page) for r in results] == [
        ("a_article.html", "fetched", None), ("z_report.pdf", "fetched", str(docs / "a_article.html"))]


def test_an_attachment_that_never_names_its_agency_takes_it_from_the_title_its_page_gives_it():
    truth = random_truth(random.Random(5), "2021")
    data = attachment_report(truth, agency="本机关")
    alone = parse_document(data, "report.txt")
    assert alone.agency is None and [i.code for i in alone.issues] == ["agency_uncertain"]
    linked = parse_document(data, "report.txt", title_hint=title_of(truth))
    assert (linked.agency, linked.year, linked.issues) == (truth["agency"], truth["year"], [])
    assert {k: c.value for k, c in linked.cells.items() if k in truth["cells"]} == truth["cells"]
    other = parse_document(data, "report.txt", title_hint=f"{truth['agency']}{truth['year'] - 1}年政府信息公开工作年度报告")
    assert "year_conflict" in [i.code for i in other.issues]  # a link that names another year is not believed


def test_an_attachment_two_pages_link_is_the_first_pages_whichever_thread_takes_it(tmp_path):
    """The first page in manifest order holds the attachment (and so the report), even when a later page's
    job reaches the link first: here the first page is long to read, the others short."""
    docs = tmp_path / "pages"
    docs.mkdir()
    link = f'<p>附件：<a href="files/z_report.pdf">{TITLE}.pdf</a></p>'
    (docs / "a_first.html").write_bytes(article("<p>说明</p>" * 3_000 + link))
    for n in range(6):
        (docs / f"b_copy{n}.html").write_bytes(article(link))
    (docs / "files").mkdir()
    (docs / "files" / "z_report.pdf").write_bytes(PDF)
    results = fetch_sources(manifest_for(docs), RawStore(tmp_path / "raw"), FAST)
    (pdf,) = [r for r in results if r.source_uri.endswith("z_report.pdf")]
    assert pdf.status == "fetched" and pdf.page == str(docs / "a_first.html")


def test_an_attachment_two_pages_link_takes_its_hints_from_the_page_that_holds_it(tmp_path):
    """The agency hint and the link's title that the attachment's parse reads come from the page holding it
    (the first in manifest order), not from whichever page's job reached the link first: the report's agency
    must not depend on timing. (They came from the fetching page while the page itself was settled.)"""
    docs = tmp_path / "pages"
    (docs / "files").mkdir(parents=True)
    (docs / "files" / "z_report.pdf").write_bytes(PDF)
    first = docs / "a_first.html"
    first.write_bytes(article("<p>说明</p>" * 3_000 + f'<p>附件：<a href="files/z_report.pdf">{TITLE}.pdf</a></p>'))
    sources = [SourceSpec(kind="file", location=str(first), agency_hint="厦门市集美区科技局")]
    for n in range(6):
        copy = docs / f"b_copy{n}.html"
        copy.write_bytes(article('<p>附件：<a href="files/z_report.pdf">厦门市集美区教育局2023年政府信息公开工作年度报告.pdf</a></p>'))
        sources.append(SourceSpec(kind="file", location=str(copy), agency_hint="厦门市集美区教育局"))
    results = fetch_sources(Manifest(sources=sources, root=docs.resolve()), RawStore(tmp_path / "raw"), FAST)
    (pdf,) = [r for r in results if r.source_uri.endswith("z_report.pdf")]
    assert (pdf.page, pdf.agency_hint, pdf.title_hint) == (str(first), "厦门市集美区科技局", TITLE)
