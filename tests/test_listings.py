"""Listing pages as real government CMSs write them (tests/fixtures/listings/<family>/), crawled from a real
site on 127.0.0.1: exactly the report links across all pages, and nothing else fetched.

Each fixture keeps its CMS's real structure (header, navigation, left column tree, breadcrumb, list, pager
script, sidebar, footer with off-site links); ``{{site}}`` is the loopback site itself and ``{{other}}`` a
second loopback site that stands for every off-site host and must receive no request.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestration.fetching import Manifest, RawStore, SourceSpec, fetch_sources
from orchestration.fetching.listing import find_links
from tests.test_fetch import FAST, html, start_site

FIXTURES = Path(__file__).parent / "fixtures" / "listings"
CONFIG = replace(FAST, retries=0, total_timeout_seconds=10)
TYPES = {".json": "application/json;charset=UTF-8", ".jsp": "text/xml;charset=UTF-8", ".html": "text/html"}


def serve(http_server, family: str, listing_pages: dict[str, str], reports: list[str]) -> tuple[str, object, object]:
    """The family's site: ``listing_pages`` maps a request target (path and query) to a fixture file; every
    report path answers a small report page. Returns the site's base URL, its and the off-site host's records."""
    other, other_seen = start_site(http_server, {})
    routes = {}
    base_holder: list[str] = []

    def fixture(name: str):
        def route(h, site) -> None:
            body = (FIXTURES / family / name).read_bytes()
            body = body.replace(b"{{site}}", base_holder[0].split("//")[1].encode()).replace(b"{{other}}", other.split("//")[1].encode())
            h.reply(200, body, TYPES.get(Path(name).suffix, "text/html; charset=utf-8"))
        return route

    routes.update({target: fixture(name) for target, name in listing_pages.items()})
    routes.update({path: (lambda h, site: h.reply(200, html("<h1>政府信息公开工作年度报告</h1>"))) for path in reports})
    base, seen = start_site(http_server, routes)
    base_holder.append(base)
    return base, seen, other_seen


def crawl(http_server, tmp_path, family: str, start: str, listing_pages: dict[str, str], reports: list[str], max_pages: int = 10):
    base, seen, other_seen = serve(http_server, family, listing_pages, reports)
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=base + start, max_pages=max_pages)])
    messages: list[str] = []
    results = fetch_sources(manifest, RawStore(tmp_path), CONFIG, progress=messages.append)
    return base, results, seen, other_seen, messages


def assert_exactly(base, results, seen, other_seen, listing_pages, reports) -> None:
    assert [(r.source_uri, r.status) for r in results] == [(base + path, "fetched") for path in reports]
    requested = [path for path, _, _ in seen.requests]
    assert sorted(requested) == sorted(["/robots.txt", *listing_pages, *reports])  # each once, nothing else
    assert other_seen.requests == []


TRS_WCM_REPORTS = [
    "/zwgk/zfxxgk/ndbg/202401/t20240126_1123401.htm",
    "/zwgk/zfxxgk/ndbg/202301/t20230130_1012377.htm",
    "/zwgk/zfxxgk/ndbg/202201/t20220128_903512.htm",
    "/zwgk/zfxxgk/ndbg/202101/t20210129_801140.htm",
    "/zwgk/zfxxgk/ndbg/202001/t20200123_123.htm",
    "/zwgk/zfxxgk/ndbg/201901/t20190130_62001.htm",
    "/zwgk/zfxxgk/ndbg/201801/t20180131_51026.htm",
    "/zwgk/tzgg/201703/t20170324_40012.htm",
]


def test_trs_wcm_create_page_html_column(http_server, tmp_path):
    """createPageHTML(2, 0, "index", "htm"); the left column tree and the CurrChnlCls breadcrumb link back to
    the column (…公开年报) and to sibling 年报 columns: none of them is a report, the home page is no listing."""
    pages = {"/zwgk/zfxxgk/ndbg/index.htm": "zwgk/zfxxgk/ndbg/index.htm", "/zwgk/zfxxgk/ndbg/index_1.htm": "zwgk/zfxxgk/ndbg/index_1.htm"}
    found = crawl(http_server, tmp_path, "trs_wcm", "/zwgk/zfxxgk/ndbg/index.htm", pages, TRS_WCM_REPORTS)
    assert_exactly(*found[:4], pages, TRS_WCM_REPORTS)


def test_trs_wcm_column_named_by_its_folder_reads_index_htm_once(http_server, tmp_path):
    """The manifest names the column's folder: the pager's page 0 (index.htm) is that same page, not read again."""
    pages = {"/zwgk/zfxxgk/ndbg/": "zwgk/zfxxgk/ndbg/index.htm", "/zwgk/zfxxgk/ndbg/index_1.htm": "zwgk/zfxxgk/ndbg/index_1.htm"}
    found = crawl(http_server, tmp_path, "trs_wcm", "/zwgk/zfxxgk/ndbg/", pages, TRS_WCM_REPORTS)
    assert_exactly(*found[:4], pages, TRS_WCM_REPORTS)


def test_trs_wcm_count_page_document_write_column_in_gbk(http_server, tmp_path):
    """var countPage = 2 with document.write links (no createPageHTML), a GBK page without a charset header,
    a table layout whose top bar and breadcrumb say 首页 for the site's home."""
    pages = {"/zwgk/xxgkml/gknb/index.html": "zwgk/xxgkml/gknb/index.html", "/zwgk/xxgkml/gknb/index_1.html": "zwgk/xxgkml/gknb/index_1.html"}
    reports = [
        "/zwgk/xxgkml/gknb/202401/t20240119_11342209.html",
        "/zwgk/xxgkml/gknb/202301/t20230131_10993011.html",
        "/zwgk/xxgkml/gknb/202201/t20220129_10458865.html",
        "/zwgk/xxgkml/gknb/202101/t20210128_9766120.html",
        "/zwgk/xxgkml/gknb/202003/t20200320_8934512.html",
    ]
    found = crawl(http_server, tmp_path, "trs_wcm_countpage", "/zwgk/xxgkml/gknb/index.html", pages, reports)
    assert_exactly(*found[:4], pages, reports)


HYCLOUD_API = "/api-gateway/hycloud-publish-server/front/doc/list"


def test_hycloud_list_model_follows_its_json_list_api(http_server, tmp_path):
    """The column page is an empty list model; its script loads the records from a JSON list API
    (pageNo/pageSize; the answer states totalPage): both API pages are read, the records' column link is not a report."""
    pages = {
        "/zfxxgk/ndbg/index.shtml": "zfxxgk/ndbg/index.shtml",
        f"{HYCLOUD_API}?siteId=42&channelId=20153&pageNo=1&pageSize=10": "api/list_page1.json",
        f"{HYCLOUD_API}?siteId=42&channelId=20153&pageNo=2&pageSize=10": "api/list_page2.json",
    }
    stems = ["202401/t20240126_3512208", "202301/t20230131_3389021", "202201/t20220128_3129455", "202101/t20210129_2923310",
             "202003/t20200327_2772560", "201903/t20190329_2597421", "201803/t20180330_2580020", "201703/t20170331_2412891",
             "201603/t20160330_2101176", "201503/t20150331_1655402", "201403/t20140328_1289934", "201303/t20130329_1002117"]
    reports = [f"/zfxxgk/ndbg/{stem}.shtml" for stem in stems]
    found = crawl(http_server, tmp_path, "hycloud", "/zfxxgk/ndbg/index.shtml", pages, reports)
    assert_exactly(*found[:4], pages, reports)


HANWEB_GROUP_2 = (
    "/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=3185&path=/&columnid=1229424&unitid=4652277"
    "&webname=%E6%B5%99%E6%B1%9F%E7%9C%81%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C&permissiontype=0&startrecord=11&endrecord=20&perpage=10"
)


def test_hanweb_datastore_records_and_dataproxy_paging(http_server, tmp_path):
    """Records are CDATA in <script type="text/xml"> (no <a> in the DOM); the jpage pager states 14 records,
    10 a page: the second group comes from dataproxy.jsp. The sidebar's datastore unit is not the list."""
    pages = {"/col/col1229424/index.html": "col/col1229424/index.html", HANWEB_GROUP_2: "module/web/jpage/dataproxy.jsp"}
    arts = ["2024/1/26/art_1229424_59012345", "2024/1/25/art_1229424_59011870", "2023/1/30/art_1229424_58133392",
            "2023/1/29/art_1229424_58131004", "2022/1/28/art_1229424_57264411", "2022/1/27/art_1229424_57262280",
            "2021/1/29/art_1229424_56120367", "2021/1/28/art_1229424_56118802", "2020/3/31/art_1229424_42210089",
            "2020/3/30/art_1229424_42208811", "2019/3/29/art_1229424_41006542", "2019/3/28/art_1229424_41005530",
            "2018/3/30/art_1229424_40012293"]
    reports = [f"/art/{art}.html" for art in arts]
    found = crawl(http_server, tmp_path, "hanweb", "/col/col1229424/index.html", pages, reports)
    assert_exactly(*found[:4], pages, reports)


def test_plain_pager_links_dedecms(http_server, tmp_path):
    """Page-number and 下一页 links (DedeCMS list_12_2.html); 首页 of the top menu is the site's home, not a
    page; page 2's 首页 names page 1 as list_12_1.html, a page of this column, read once."""
    pages = {"/a/zwgk/ndbg/": "a/zwgk/ndbg/index.html", "/a/zwgk/ndbg/list_12_2.html": "a/zwgk/ndbg/list_12_2.html",
             "/a/zwgk/ndbg/list_12_1.html": "a/zwgk/ndbg/index.html"}  # DedeCMS writes page 1 twice
    reports = ["/a/zwgk/ndbg/2024/0125/1276.html", "/a/zwgk/ndbg/2023/0130/1102.html", "/a/zwgk/ndbg/2022/0128/961.html",
               "/a/zwgk/ndbg/2021/0129/803.html", "/a/zwgk/ndbg/2020/0331/655.html"]
    found = crawl(http_server, tmp_path, "plain", "/a/zwgk/ndbg/", pages, reports)
    assert_exactly(*found[:4], pages, reports)


def test_max_pages_bounds_api_and_dataproxy_hops(http_server, tmp_path):
    """The page budget counts every hop of a list model: with max_pages=2 the second API page is left, and said so."""
    pages = {"/zfxxgk/ndbg/index.shtml": "zfxxgk/ndbg/index.shtml", f"{HYCLOUD_API}?siteId=42&channelId=20153&pageNo=1&pageSize=10": "api/list_page1.json"}
    reports = ["/zfxxgk/ndbg/202401/t20240126_3512208.shtml", "/zfxxgk/ndbg/202301/t20230131_3389021.shtml", "/zfxxgk/ndbg/202201/t20220128_3129455.shtml",
               "/zfxxgk/ndbg/202101/t20210129_2923310.shtml", "/zfxxgk/ndbg/202003/t20200327_2772560.shtml", "/zfxxgk/ndbg/201903/t20190329_2597421.shtml",
               "/zfxxgk/ndbg/201803/t20180330_2580020.shtml", "/zfxxgk/ndbg/201703/t20170331_2412891.shtml", "/zfxxgk/ndbg/201603/t20160330_2101176.shtml"]
    base, results, seen, other_seen, messages = crawl(http_server, tmp_path, "hycloud", "/zfxxgk/ndbg/index.shtml", pages, reports, max_pages=2)
    assert_exactly(base, results, seen, other_seen, pages, reports)
    assert any("1 more page(s) beyond max_pages=2" in m for m in messages)


@pytest.mark.parametrize("script", [
    "$.ajax({url: 'http://{other}/api/list', data: {pageNo: 1}})",
    "$.getJSON('http://{other}/api/list?pageNo=1')",
])
def test_a_list_api_on_another_host_is_never_a_page(script):
    page = html(f"<ul class='list'><li><a href='t1.htm'>2023年度报告</a></li></ul><script>{script}</script>").decode()
    links = find_links(page.replace("{other}", "127.0.0.2:8080"), "http://127.0.0.1:9/ndbg/index.htm", "年度报告|年报")
    assert links.pages == [] and links.reports == ["http://127.0.0.1:9/ndbg/t1.htm"]


# --- single pages through find_links: forms the fixtures above do not show -------------------------------

PAGE = "http://127.0.0.1:9/xxgk/ndbg/index.htm"


def links_of(body: str, page_url: str = PAGE):
    return find_links(html(body).decode(), page_url, "年度报告|年报")


def test_trs_six_argument_create_page_html():
    found = links_of("<div class='list'><a href='t1.htm'>2023年度报告</a></div><script>createPageHTML('page_div', 3, 0, 'index', 'htm', 45);</script>")
    assert found.pages == ["http://127.0.0.1:9/xxgk/ndbg/index_1.htm", "http://127.0.0.1:9/xxgk/ndbg/index_2.htm"]


def test_hanweb_page_carrying_all_its_records_asks_dataproxy_nothing():
    """jpage pages on the client when the datastore already holds every record (totalRecord 3, 3 embedded)."""
    records = "".join(f"<record><![CDATA[<li><a href='/art/2023/1/{n}/art_1_{n}.html'>{2020 + n}年年报</a></li>]]></record>" for n in range(3))
    body = (f"<div id='1'><script type='text/xml'><datastore><nextgroup><![CDATA[<a href='/module/web/jpage/dataproxy.jsp?page=1&columnid=1'></a>]]>"
            f"</nextgroup><recordset>{records}</recordset></datastore></script></div>"
            "<script>$('#1').jpage({perPage: 1, totalRecord: 3, groupSize: 1, proxyUrl: '/module/web/jpage/dataproxy.jsp'});</script>")
    found = links_of(body, "http://127.0.0.1:9/col/col1/index.html")
    assert found.pages == [] and len(found.reports) == 3


def test_an_ajax_call_whose_page_is_not_a_number_is_no_list_api():
    """A visit counter (``page: location.href``) names no list page."""
    found = links_of("<ul class='list'><li><a href='t1.htm'>2023年度报告</a></li></ul>"
                     "<script>$.ajax({url: '/interface/visit.jsp', data: {siteId: 1, page: location.href}});</script>")
    assert found.pages == [] and found.reports == ["http://127.0.0.1:9/xxgk/ndbg/t1.htm"]


def test_a_region_holding_most_matching_links_is_the_list_whatever_its_name():
    """A search-page listing: its results sit in div.search-result (a word that names boilerplate elsewhere)."""
    results = "".join(f"<li><a href='/xxgk/{n}/t{n}.htm'>{2020 + n}年政府信息公开工作年度报告</a></li>" for n in range(3))
    found = links_of(f"<div class='search'><input name='q'></div><div class='search-result'><ul>{results}</ul></div>"
                     "<div class='footer'><a href='/ndbg/t9.htm'>某局2019年度报告</a></div>")
    assert found.reports == [f"http://127.0.0.1:9/xxgk/{n}/t{n}.htm" for n in range(3)]


def test_a_listing_redirected_to_another_host_is_read_there(http_server, tmp_path):
    """http://x.gov.cn/ndbg/ answering 301 to https://www.x.gov.cn/ndbg/ is common: the column is where it landed."""
    pages = {"/zwgk/zfxxgk/ndbg/index.htm": "zwgk/zfxxgk/ndbg/index.htm", "/zwgk/zfxxgk/ndbg/index_1.htm": "zwgk/zfxxgk/ndbg/index_1.htm"}
    base, seen, other_seen = serve(http_server, "trs_wcm", pages, TRS_WCM_REPORTS)
    old_host, _ = start_site(http_server, {"/ndbg/": lambda h, site: h.reply(301, b"", None, {"Location": f"{base}/zwgk/zfxxgk/ndbg/index.htm"})})
    results = fetch_sources(Manifest(sources=[SourceSpec(kind="listing", location=f"{old_host}/ndbg/")]), RawStore(tmp_path), CONFIG)
    assert_exactly(base, results, seen, other_seen, pages, TRS_WCM_REPORTS)


def test_a_post_only_list_api_is_said_not_fetched_by_get(http_server, tmp_path):
    """The client only GETs: a list model whose API wants POST is named in the listing's failure, not guessed at."""
    body = html("<ul class='list-ul' id='docList'></ul><script>$.ajax({url: '/irs/front/list', type: 'POST', data: {pageNo: 1, pageSize: 10}});</script>")
    base, seen = start_site(http_server, {"/ndbg/index.shtml": lambda h, site: h.reply(200, body)})
    messages: list[str] = []
    (result,) = fetch_sources(Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/ndbg/index.shtml")]), RawStore(tmp_path), CONFIG, progress=messages.append)
    assert result.status == "failed" and result.error.endswith(f"; not followed: POST-only list API {base}/irs/front/list")
    assert any(m.startswith("listing ") and f"not followed: POST-only list API {base}/irs/front/list" in m for m in messages)
    assert [path for path, _, _ in seen.requests] == ["/robots.txt", "/ndbg/index.shtml"]


def test_list_api_and_dataproxy_claiming_a_billion_pages_state_at_most_1000():
    api = "http://127.0.0.1:9/api/list?channelId=1&pageNo=1&pageSize=10"
    answer = '{"data": {"totalPage": 1000000000, "list": [{"title": "2023年度报告", "url": "/ndbg/t1.htm"}]}}'
    found = find_links(answer, api, "年度报告|年报", PAGE)
    assert len(found.pages) == 999 and found.pages[0].endswith("pageNo=2&pageSize=10") and found.reports == ["http://127.0.0.1:9/ndbg/t1.htm"]
    record = "<record><![CDATA[<li><a href='/art/1.html'>2023年报</a></li>]]></record>"
    body = (f"<div id='1'><script type='text/xml'><datastore><nextgroup><![CDATA[<a href='/module/web/jpage/dataproxy.jsp?page=1'></a>]]>"
            f"</nextgroup><recordset>{record}</recordset></datastore></script></div><script>$('#1').jpage({{perPage: 1, totalRecord: 1000000000}});</script>")
    assert len(links_of(body, "http://127.0.0.1:9/col/col1/index.html").pages) == 1000



def test_navigation_named_inside_a_word_is_dropped():
    """div.leftmenu / ul.topnavbox hold links to reports of other columns (articles, not column pages)."""
    found = links_of("<div class='leftmenu'><a href='/bm/ndbg/t1.htm'>部门2023年度报告</a></div>"
                     "<ul class='topnavbox'><li><a href='/jd/ndbg/t2.htm'>街道2023年度报告</a></li></ul>"
                     "<div class='content'><a href='t3.htm'>2023年度报告</a></div>")
    assert found.reports == ["http://127.0.0.1:9/xxgk/ndbg/t3.htm"]


def test_trs_create_page_html_with_variables_for_its_counts():
    found = links_of("<div class='list'><a href='t1.htm'>2023年度报告</a></div>"
                     "<script>var currentPage = 0; var countPage = 2;\ncreatePageHTML('page_div', countPage, currentPage, 'index', 'shtml', 18);</script>")
    assert found.pages == ["http://127.0.0.1:9/xxgk/ndbg/index_1.shtml"]
