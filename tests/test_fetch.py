"""Fetching against a real HTTP site on 127.0.0.1: listings, politeness, conditional requests, every failure."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable

import pytest

from orchestration.fetching import FetchConfig, Manifest, RawStore, SourceSpec, fetch_sources, load_manifest

FAST = FetchConfig(
    contact="ops@example.org",
    timeout_seconds=0.3,
    total_timeout_seconds=5,
    retries=2,
    backoff_seconds=0.01,
    min_interval_seconds=0,
    per_host_concurrency=4,
    workers=4,
    max_bytes=200_000,
    max_decoded_bytes=1_000_000,
    allowed_hosts="127.0.0.1",  # the test sites are on loopback, which is refused unless allowed
)

GBK_REPORT = (
    "<html><head><title>厦门市思明区2020年政府信息公开工作年度报告</title></head>"
    "<body><p>本年度报告根据《中华人民共和国政府信息公开条例》编制。</p></body></html>"
).encode("gbk")
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Site:
    """What the test site saw: every request's path and headers, counts, and the most requests in flight."""

    requests: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    inflight: int = 0
    max_inflight: int = 0
    version: int = 1  # of /ndbg/2021.html: bump it to change the page
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, path: str) -> list[dict[str, str]]:
        return [h for p, h, _ in self.requests if p == path]


def start_site(http_server, routes: dict[str, Callable]) -> tuple[str, Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with site.lock:
                site.counts[self.path] += 1
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()))
                site.inflight += 1
                site.max_inflight = max(site.max_inflight, site.inflight)
            try:
                route = routes.get(self.path)
                if route is None:
                    self.reply(404, b"not found", "text/plain")
                else:
                    route(self, site)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout, size cap): that is what is being tested
            finally:
                with site.lock:
                    site.inflight -= 1

        def reply(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8", headers: dict | None = None, length: bool = True) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return http_server(Handler), site


def html(body: str) -> bytes:
    return f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode()


def page(body: bytes, ctype: str = "text/html; charset=utf-8") -> Callable:
    return lambda h, site: h.reply(200, body, ctype)


def redirect(location: str) -> Callable:
    return lambda h, site: h.reply(302, b"", None, {"Location": location})


def versioned(h, site: Site) -> None:
    etag = f'"v{site.version}"'
    if h.headers.get("If-None-Match") == etag:
        return h.reply(304, b"", None, {"ETag": etag})
    h.reply(200, html(f"<h1>2021年政府信息公开工作年度报告</h1><p>version {site.version}</p>"), headers={"ETag": etag})


def last_modified(h, site: Site) -> None:
    if h.headers.get("If-Modified-Since") == LAST_MODIFIED:
        return h.reply(304, b"", None, {"Last-Modified": LAST_MODIFIED})
    h.reply(200, html("<h1>2019年度报告</h1>"), headers={"Last-Modified": LAST_MODIFIED})


def flaky(failures: int) -> Callable:
    def route(h, site: Site) -> None:
        if site.counts[h.path] <= failures:
            return h.reply(500, b"oops", "text/plain")
        h.reply(200, html("<p>recovered</p>"))

    return route


def slow(first_slow: int | None) -> Callable:
    """Sleeps past the client's timeout on the first ``first_slow`` requests (None: always)."""

    def route(h, site: Site) -> None:
        if first_slow is None or site.counts[h.path] <= first_slow:
            time.sleep(1.0)
        h.reply(200, html("<p>finally</p>"))

    return route


def streamed_oversize(h, site: Site) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()  # no Content-Length: the body runs until the connection closes
    for _ in range(40):
        h.wfile.write(b"<p>" + b"x" * 10_000 + b"</p>")


def gzip_bomb(h, site: Site) -> None:
    h.reply(200, gzip.compress(b"\0" * 5_000_000), "text/html", {"Content-Encoding": "gzip"})


def gzipped(h, site: Site) -> None:
    h.reply(200, gzip.compress(html("<p>压缩的年度报告</p>")), headers={"Content-Encoding": "gzip"})


def report_site(http_server) -> tuple[str, Site, str]:
    """Host A: a listing column over three pages (one GBK), reports, robots.txt. Host B: another site."""
    other, _ = start_site(http_server, {"/ndbg/other.html": page(html("<p>别人的年度报告</p>"))})
    listing_1 = html(
        "<ul>"
        "<li><a href='2021.html'>2021年政府信息公开工作年度报告</a></li>"
        "<li><a href='/ndbg/2020.html' title='厦门市思明区2020年政府信息公开工作年报'>厦门市思明区2020年政府...</a></li>"
        "<li><a href='/news/1.html'>关于开展政务公开工作的通知</a></li>"
        "<li><a href='/private/2017.html'>2017年政府信息公开工作年度报告</a></li>"
        f"<li><a href='{other}/ndbg/other.html'>某局2020年度报告</a></li>"
        "<li><a href='2021.html#top'>2021年政府信息公开工作年度报告（重复）</a></li>"
        "</ul><a href='index_1.html'>下一页</a>"
    )
    listing_2 = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=gbk'></head><body>"
        "<a href='2019.html'>2019年政府信息公开工作年度报告</a>"
        "<script>createPageHTML(3, 1, \"index\", \"html\");</script></body></html>"
    ).encode("gbk")
    routes = {
        "/robots.txt": page(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/ndbg/index.html": page(listing_1),
        "/ndbg/index_1.html": page(listing_2, "text/html"),
        "/ndbg/index_2.html": page(html("<a href='2018.html'>2018年政府信息公开工作年度报告</a>")),
        "/ndbg/2021.html": versioned,
        "/ndbg/2020.html": page(GBK_REPORT, "text/html"),
        "/ndbg/2019.html": last_modified,
        "/ndbg/2018.html": page(html("<h1>2018年度报告</h1>")),
        "/private/2017.html": page(html("<h1>secret</h1>")),
        "/news/1.html": page(html("<p>通知</p>")),
        "/flaky": flaky(2),
        "/busy": lambda h, site: h.reply(503, b"busy", "text/plain", {"Retry-After": "1"}) if site.counts[h.path] == 1 else h.reply(200, html("<p>ok</p>")),
        "/slow-once": slow(1),
        "/always-slow": slow(None),
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/hops": redirect("/ndbg/2018.html"),
        "/to-ftp": redirect("ftp://127.0.0.1/report.html"),
        "/big": page(b"x" * 300_000),
        "/big-streamed": streamed_oversize,
        "/bomb": gzip_bomb,
        "/gzipped": gzipped,
        "/image.png": page(b"\x89PNG....", "image/png"),
        "/empty": page(b""),
        "/gone": lambda h, site: h.reply(410, b"gone", "text/plain"),
    }
    base, site = start_site(http_server, routes)
    return base, site, other


def urls(*locations: str, agency: str | None = None) -> Manifest:
    return Manifest(sources=[SourceSpec(kind="url", location=u, agency_hint=agency) for u in locations])


def by_uri(results) -> dict:
    return {r.source_uri: r for r in results}


@pytest.fixture
def site(http_server):
    return report_site(http_server)


def test_listing_crawl_follows_pages_and_keeps_only_on_site_report_links(site, tmp_path):
    base, seen, other = site
    manifest_file = tmp_path / "sources.yml"
    manifest_file.write_text(f"sources:\n  - listing: {base}/ndbg/index.html\n    max_pages: 2\n    agency: 厦门市思明区人民政府办公室\n", encoding="utf-8")
    messages: list[str] = []
    results = fetch_sources(load_manifest(manifest_file), RawStore(tmp_path / "raw"), FAST, progress=messages.append)
    got = by_uri(results)
    assert list(got) == [f"{base}/ndbg/2021.html", f"{base}/ndbg/2020.html", f"{base}/private/2017.html", f"{base}/ndbg/2019.html"]
    assert [got[u].status for u in got] == ["fetched", "fetched", "failed", "fetched"]
    assert "robots.txt" in got[f"{base}/private/2017.html"].error
    assert all(r.agency_hint == "厦门市思明区人民政府办公室" and r.listing == f"{base}/ndbg/index.html" for r in results)
    assert seen.counts["/news/1.html"] == 0 and seen.counts["/private/2017.html"] == 0
    assert seen.counts["/ndbg/index_2.html"] == 0  # beyond max_pages
    assert not any("/ndbg/other.html" in r.source_uri for r in results)
    assert seen.counts["/robots.txt"] == 1  # cached per host
    assert any(m.startswith("listing ") and "1 off-site" in m and "beyond max_pages=2" in m for m in messages)
    assert sum(m.startswith("[") for m in messages) == len(results)


def test_listing_script_pagination_reaches_further_pages(site, tmp_path):
    base, seen, _ = site
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/ndbg/index.html", max_pages=5)])
    results = by_uri(fetch_sources(manifest, RawStore(tmp_path), FAST))
    assert results[f"{base}/ndbg/2018.html"].status == "fetched"  # via createPageHTML(3, ...) on the GBK page
    assert seen.counts["/ndbg/index.html"] == 1  # page 0 of the script is the start page, not read twice


def test_listing_without_report_links_is_a_recorded_failure(site, tmp_path):
    base, _, _ = site
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/news/1.html")])
    (result,) = fetch_sources(manifest, RawStore(tmp_path), FAST)
    assert result.status == "failed" and "no links matching" in result.error


def test_gbk_page_without_charset_is_stored_byte_for_byte(site, tmp_path):
    base, _, _ = site
    store = RawStore(tmp_path)
    (result,) = fetch_sources(urls(f"{base}/ndbg/2020.html"), store, FAST)
    assert result.status == "fetched" and result.headers["content-type"] == "text/html"
    assert store.get(result.content_hash) == GBK_REPORT
    assert store.blob_path(result.content_hash) == tmp_path / "blobs" / result.content_hash[:2] / result.content_hash


def test_gzip_body_is_decoded(site, tmp_path):
    base, _, _ = site
    store = RawStore(tmp_path)
    (result,) = fetch_sources(urls(f"{base}/gzipped"), store, FAST)
    assert store.get(result.content_hash) == html("<p>压缩的年度报告</p>")


def test_etag_and_last_modified_give_304_unchanged_and_nothing_restored(site, tmp_path):
    base, seen, _ = site
    store = RawStore(tmp_path)
    manifest = urls(f"{base}/ndbg/2021.html", f"{base}/ndbg/2019.html")
    first = fetch_sources(manifest, store, FAST)
    assert [(r.status, r.changed, r.http_status) for r in first] == [("fetched", True, 200)] * 2
    log_lines = store.log_path.read_text().count("\n")
    second = fetch_sources(manifest, store, FAST)
    assert [(r.status, r.changed, r.http_status) for r in second] == [("unchanged", False, 304)] * 2
    assert [r.content_hash for r in second] == [r.content_hash for r in first]
    assert store.log_path.read_text().count("\n") == log_lines
    assert seen.seen("/ndbg/2021.html")[-1]["if-none-match"] == '"v1"'
    assert seen.seen("/ndbg/2019.html")[-1]["if-modified-since"] == LAST_MODIFIED


def test_changed_page_is_fetched_again_and_both_versions_kept(site, tmp_path):
    base, seen, _ = site
    store = RawStore(tmp_path)
    manifest = urls(f"{base}/ndbg/2021.html")
    (old,) = fetch_sources(manifest, store, FAST)
    seen.version = 2
    (new,) = fetch_sources(manifest, store, FAST)
    assert new.status == "fetched" and new.changed and new.content_hash != old.content_hash
    assert b"version 1" in store.get(old.content_hash) and b"version 2" in store.get(new.content_hash)
    assert store.latest(f"{base}/ndbg/2021.html").content_hash == new.content_hash


def test_full_refresh_sends_no_validators_and_marks_everything_changed(site, tmp_path):
    base, seen, _ = site
    store = RawStore(tmp_path)
    manifest = urls(f"{base}/ndbg/2021.html")
    fetch_sources(manifest, store, FAST)
    (again,) = fetch_sources(manifest, store, FAST, full=True)
    assert again.status == "fetched" and again.changed and again.http_status == 200
    assert "if-none-match" not in seen.seen("/ndbg/2021.html")[-1]


def test_same_content_under_new_validators_is_unchanged(site, tmp_path):
    """A server that forgets its ETag still answers 200 with the same bytes: not re-parsed."""
    base, _, _ = site
    store = RawStore(tmp_path)
    manifest = urls(f"{base}/ndbg/2018.html")  # no validators at all: always 200
    (first,) = fetch_sources(manifest, store, FAST)
    (second,) = fetch_sources(manifest, store, FAST)
    assert (second.status, second.changed, second.content_hash) == ("unchanged", False, first.content_hash)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAILURES = {
    "/missing": "HTTP 404",
    "/gone": "HTTP 410",
    "/loop-a": "redirect loop",
    "/to-ftp": "non-HTTP scheme: ftp://",
    "/big": "oversize: Content-Length",
    "/big-streamed": "oversize: body exceeds",
    "/bomb": "decompression bomb",
    "/image.png": "not a document: Content-Type image/png",
    "/always-slow": "timeout",
    "/private/2017.html": "disallowed by robots.txt",
    "/empty": "empty body",
}


def test_each_failure_is_recorded_with_its_reason_and_the_rest_goes_on(site, tmp_path):
    base, seen, _ = site
    refused = f"http://127.0.0.1:{closed_port()}/report.html"
    manifest = urls(*(base + p for p in FAILURES), refused, f"{base}/ndbg/2018.html")
    results = by_uri(fetch_sources(manifest, RawStore(tmp_path), FAST))
    wrong = {
        path: (r.status, r.error, r.changed, r.content_hash)
        for path, r in ((p, results[base + p]) for p in FAILURES)
        if r.status != "failed" or FAILURES[path] not in (r.error or "") or r.changed or r.content_hash
    }
    assert wrong == {}
    assert results[refused].status == "failed" and "cannot connect" in results[refused].error
    assert results[f"{base}/ndbg/2018.html"].status == "fetched"
    assert results[f"{base}/missing"].http_status == 404 and results[f"{base}/missing"].to_record()["error"] == "HTTP 404 Not Found"
    assert seen.counts["/always-slow"] == 1 + FAST.retries  # timeouts are retried
    assert seen.counts["/missing"] == 1  # a 404 is not


def test_5xx_and_timeouts_are_retried_until_they_recover(site, tmp_path):
    base, seen, _ = site
    results = fetch_sources(urls(f"{base}/flaky", f"{base}/slow-once"), RawStore(tmp_path), FAST)
    assert [r.status for r in results] == ["fetched", "fetched"]
    assert seen.counts["/flaky"] == 3 and seen.counts["/slow-once"] == 2


def test_retry_after_is_honoured(site, tmp_path):
    base, seen, _ = site
    (result,) = fetch_sources(urls(f"{base}/busy"), RawStore(tmp_path), FAST)
    first, second = (at for path, _, at in seen.requests if path == "/busy")
    assert result.status == "fetched" and second - first >= 0.95  # asked for 1 s; our own backoff is 0.01 s


def test_redirects_are_followed_within_the_limit(site, tmp_path):
    base, _, _ = site
    (ok,) = fetch_sources(urls(f"{base}/hops"), RawStore(tmp_path), FAST)
    assert ok.status == "fetched" and ok.final_url == f"{base}/ndbg/2018.html" and ok.source_uri == f"{base}/hops"
    strict = replace(FAST, max_redirects=0)
    (refused,) = fetch_sources(urls(f"{base}/hops"), RawStore(tmp_path / "strict"), strict)
    assert refused.status == "failed" and "too many redirects" in refused.error


def test_user_agent_names_the_project_and_contact(site, tmp_path):
    base, seen, _ = site
    fetch_sources(urls(f"{base}/ndbg/2018.html"), RawStore(tmp_path), FAST)
    agent = seen.seen("/ndbg/2018.html")[0]["user-agent"]
    assert agent.startswith("disclosure-warehouse/") and "ops@example.org" in agent


def test_per_host_concurrency_and_interval_are_kept(site, tmp_path):
    base, seen, _ = site
    polite = replace(FAST, per_host_concurrency=1, min_interval_seconds=0.2, workers=4)
    pages = ["/ndbg/2018.html", "/news/1.html", "/flaky", "/ndbg/2020.html", "/gzipped"]
    fetch_sources(urls(*(base + p for p in pages)), RawStore(tmp_path), polite)
    assert seen.max_inflight == 1
    starts = [at for _, _, at in seen.requests]
    # robots.txt + 5 pages + 2 retries of /flaky = 8 request starts, each at least 0.2 s after the one before;
    # a lower bound on the span (generous for the first request's latency) cannot be broken by a slow machine.
    assert len(starts) == 8 and starts[-1] - starts[0] >= 7 * 0.2 - 0.2


def test_concurrency_is_used_when_allowed(http_server, tmp_path):
    """Two requests may be in flight to one host when per_host_concurrency is 2 (never more)."""
    gate = threading.Barrier(2, timeout=5)

    def meet(h, site: Site) -> None:
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            pass
        h.reply(200, html("<p>x</p>"))

    base, seen = start_site(http_server, {f"/r{i}": meet for i in range(4)})
    config = replace(FAST, per_host_concurrency=2, timeout_seconds=6)
    results = fetch_sources(urls(*(f"{base}/r{i}" for i in range(4))), RawStore(tmp_path), config)
    assert [r.status for r in results] == ["fetched"] * 4
    assert seen.max_inflight == 2


def test_local_files_go_through_the_same_change_detection(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("2020年政府信息公开工作年度报告", encoding="utf-8")
    (folder / "b.html").write_bytes(GBK_REPORT)
    manifest_file = tmp_path / "sources.yml"
    manifest_file.write_text("sources:\n  - path: docs/\n    agency: 某局\n", encoding="utf-8")
    store = RawStore(tmp_path / "raw")
    first = fetch_sources(load_manifest(manifest_file), store, FAST)
    assert [(Path(r.source_uri).name, r.status, r.changed, r.agency_hint) for r in first] == [("a.txt", "fetched", True, "某局"), ("b.html", "fetched", True, "某局")]
    assert store.get(first[1].content_hash) == GBK_REPORT
    (folder / "a.txt").write_text("2021年政府信息公开工作年度报告", encoding="utf-8")
    second = fetch_sources(load_manifest(manifest_file), store, FAST)
    assert [(r.status, r.changed) for r in second] == [("fetched", True), ("unchanged", False)]
    assert second[1].content_hash == first[1].content_hash


def test_generated_corpus_pages_arrive_byte_for_byte_through_a_listing(http_server, tmp_path):
    """Pages from the corpus generator (many layouts, encodings, formats) served with their own headers."""
    from tests.corpus import generate

    docs = generate(8, seed=7)
    reports = [d for d in docs if d.truth["document_kind"] == "annual_report"]
    links = "".join(
        f"<li><a href='/ndbg/{d.name}'>{d.truth['agency']}{d.truth['year']}年政府信息公开工作"
        f"{'年度报告' if d in reports else '情况通报'}</a></li>"
        for d in docs
    )
    routes = {"/ndbg/": page(html(f"<ul>{links}</ul>"))}
    for d in docs:
        routes[f"/ndbg/{d.name}"] = lambda h, site, d=d: h.reply(200, d.data, None, d.headers)
    base, seen = start_site(http_server, routes)
    store = RawStore(tmp_path)
    config = replace(FAST, max_bytes=5_000_000)
    results = fetch_sources(Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/ndbg/")]), store, config)
    assert reports and [r.source_uri for r in results] == [f"{base}/ndbg/{d.name}" for d in reports]
    for result, doc in zip(results, reports):
        assert result.status == "fetched" and store.get(result.content_hash) == doc.data
        assert {k.lower(): v for k, v in doc.headers.items()}.items() <= result.headers.items()
    assert all(seen.counts[f"/ndbg/{d.name}"] == 0 for d in docs if d not in reports)


def test_a_document_named_twice_is_fetched_once_with_its_first_hint(site, tmp_path):
    base, seen, _ = site
    manifest = Manifest(
        sources=[
            SourceSpec(kind="url", location=f"{base}/ndbg/2021.html", agency_hint="first"),
            SourceSpec(kind="listing", location=f"{base}/ndbg/index.html", max_pages=1, agency_hint="listing"),
            SourceSpec(kind="url", location=f"{base}/ndbg/2021.html", agency_hint="third"),
        ]
    )
    results = fetch_sources(manifest, RawStore(tmp_path), FAST)
    assert [r.source_uri for r in results].count(f"{base}/ndbg/2021.html") == 1
    assert by_uri(results)[f"{base}/ndbg/2021.html"].agency_hint == "first" and seen.counts["/ndbg/2021.html"] == 1
    assert by_uri(results)[f"{base}/ndbg/2020.html"].agency_hint == "listing"
