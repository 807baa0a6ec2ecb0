"""Hostile sources: servers that drip, redirects and URLs to internal addresses, local paths that reach
outside, special files, listings with endless links. Every server here listens on loopback; a refusal
is proven by the server counting zero connections, so no test sends traffic anywhere else."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from orchestration.fetching import FetchConfig, Manifest, ManifestError, RawStore, SourceSpec, fetch_sources, load_manifest
from orchestration.fetching.network import AddressRefused, GuardedBackend, non_public
from tests.test_fetch import FAST, html, page, redirect, start_site, urls

REPO = Path(__file__).resolve().parent.parent
QUICK = replace(FAST, retries=0, respect_robots=False)
NOT_ALLOWED = replace(QUICK, allowed_hosts="")


class RawServer:
    """A TCP server on loopback that counts connections and runs ``talk(conn)`` for each, for at most 20 s."""

    def __init__(self, talk=None, family: socket.AddressFamily = socket.AF_INET):
        self.talk = talk or (lambda conn: None)
        self.connections = 0
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.talk(conn)
            except OSError:
                pass  # the client gave up: that is what is being tested

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def raw_server():
    servers: list[RawServer] = []

    def start(talk=None, family: socket.AddressFamily = socket.AF_INET) -> RawServer:
        servers.append(RawServer(talk, family))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def drip_headers(conn: socket.socket) -> None:
    """A status line, then one header byte every 0.1 s (bounded at 20 s): every read is quick, the response never ends."""
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(200):
        conn.sendall(b"X")
        time.sleep(0.1)


# --- item 5: one wall-clock deadline per request -----------------------------------------------------


@pytest.mark.timeout(60)
def test_slow_headers_end_at_the_wall_clock_deadline(raw_server, tmp_path):
    server = raw_server(drip_headers)
    config = replace(QUICK, timeout_seconds=5, total_timeout_seconds=1)
    (result,) = fetch_sources(urls(f"http://127.0.0.1:{server.port}/report.html"), RawStore(tmp_path), config)
    assert result.status == "failed" and result.error == "timeout: no complete response after 1 s (connect, headers and body)"


@pytest.mark.timeout(60)
def test_slow_robots_txt_is_bounded_by_the_same_deadline(raw_server, tmp_path):
    server = raw_server(drip_headers)
    config = replace(FAST, retries=0, timeout_seconds=5, total_timeout_seconds=1)
    (result,) = fetch_sources(urls(f"http://127.0.0.1:{server.port}/report.html"), RawStore(tmp_path), config)
    assert result.status == "failed"
    assert result.error.startswith(f"robots.txt of http://127.0.0.1:{server.port} could not be read (timeout: no complete response after 1 s")
    assert server.connections == 1  # robots.txt only; the page itself is not fetched


# --- item 6: no connection to non-public addresses unless the manifest allows the host --------------


def test_address_classifier():
    # Plain data: these addresses are only classified, never connected to.
    kinds = {
        "10.1.2.3": "private",
        "172.16.0.1": "private",
        "172.31.255.254": "private",
        "192.168.1.1": "private",
        "169.254.169.254": "link-local",  # cloud metadata
        "127.0.0.1": "loopback",
        "127.8.9.10": "loopback",
        "::1": "loopback",
        "::ffff:10.0.0.1": "private",  # IPv4-mapped IPv6
        "::ffff:127.0.0.1": "loopback",
        "fe80::1": "link-local",
        "fc00::1": "private",
        "0.0.0.0": "unspecified",
        "224.0.0.1": "multicast",
        "100.64.0.1": "non-public",  # carrier-grade NAT
        "8.8.8.8": None,
        "2001:4860:4860::8888": None,
        "172.32.0.1": None,  # just past 172.16/12
    }
    assert {address: non_public(address) for address in kinds} == kinds
    with pytest.raises(AddressRefused, match=r"^refused: 10\.1\.2\.3 is a private address; allow the host in the manifest"):
        GuardedBackend().checked_addresses("10.1.2.3", 80, 1.0)  # an IP literal: no lookup, no connection


@pytest.mark.parametrize("robots", [True, False])
def test_a_listed_loopback_url_is_refused_before_connecting(raw_server, tmp_path, robots):
    server = raw_server()
    config = replace(NOT_ALLOWED, respect_robots=robots)
    (result,) = fetch_sources(urls(f"http://127.0.0.1:{server.port}/report.html"), RawStore(tmp_path), config)
    assert result.status == "failed"
    assert result.error == "refused: 127.0.0.1 is a loopback address; allow the host in the manifest (allowed_hosts) to fetch it"
    assert server.connections == 0


def test_a_listing_on_a_loopback_host_is_refused_before_connecting(raw_server, tmp_path):
    server = raw_server()
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"http://localhost:{server.port}/ndbg/")])
    (result,) = fetch_sources(manifest, RawStore(tmp_path), replace(FAST, allowed_hosts=""))
    assert result.status == "failed" and result.error.startswith("refused: localhost resolves to ")
    assert "a loopback address" in result.error and server.connections == 0


def test_redirects_to_internal_hosts_are_refused_at_the_hop(http_server, raw_server, tmp_path):
    """The listed site (allowed by name) redirects to other loopback hosts, which are not allowed."""
    v4 = raw_server()
    v6 = raw_server(family=socket.AF_INET6)
    routes = {
        "/to-localhost": redirect(f"http://localhost:{v4.port}/internal"),
        "/to-v6": redirect(f"http://[::1]:{v6.port}/internal"),
        "/to-mapped": redirect(f"http://[::ffff:127.0.0.1]:{v4.port}/internal"),
        "/ok": page(html("<p>2020年度报告</p>")),
    }
    base, _ = start_site(http_server, routes)
    results = fetch_sources(urls(*(base + p for p in routes)), RawStore(tmp_path), QUICK)
    assert [r.status for r in results] == ["failed", "failed", "failed", "fetched"]
    assert results[0].error.startswith("refused: localhost resolves to ") and "loopback" in results[0].error
    assert results[1].error.startswith("refused: ::1 is a loopback address")
    assert results[2].error.startswith("refused: ::ffff:127.0.0.1 is a loopback address")
    assert (v4.connections, v6.connections) == (0, 0)
    assert {r.final_url for r in results[:3]} == {f"http://localhost:{v4.port}/internal", f"http://[::1]:{v6.port}/internal", f"http://[::ffff:127.0.0.1]:{v4.port}/internal"}


def test_an_allowed_host_is_fetched_from_the_address_resolved_once(http_server, tmp_path, monkeypatch):
    """DNS rebinding: the address checked is the one connected to. A stand-in resolver answers the
    made-up name with 127.0.0.1 once and with 127.0.0.2 (where nothing listens) afterwards; a client
    that looked the name up again to connect would fail."""
    base, seen = start_site(http_server, {"/report.html": page(html("<p>2020年度报告</p>"))})
    port = base.rsplit(":", 1)[1]
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            return real("127.0.0.1" if len(lookups) == 1 else "127.0.0.2", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    (result,) = fetch_sources(urls(f"http://rebind.test:{port}/report.html"), RawStore(tmp_path), replace(QUICK, allowed_hosts="rebind.test"))
    assert result.status == "fetched" and lookups == ["rebind.test"] and seen.counts["/report.html"] == 1
    assert seen.requests[0][1]["host"] == f"rebind.test:{port}"  # the Host header keeps the name


# --- item 7: local sources stay inside their folder, are plain files, and are capped -----------------


def write_manifest(folder: Path, sources: str, settings: str = "") -> Path:
    path = folder / "sources.yml"
    path.write_text((f"settings:\n{settings}" if settings else "") + f"sources:\n{sources}", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A manifest folder with one document, and a secret beside it (outside the folder)."""
    (tmp_path / "secret.txt").write_text("SMTP_PASSWORD=hunter2", encoding="utf-8")
    folder = tmp_path / "corpus"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "2020.html").write_bytes(html("<p>2020年度报告</p>"))
    return folder


@pytest.mark.parametrize("path", ["../secret.txt", "{tmp}/secret.txt", "/etc/passwd", "/"])
def test_manifest_paths_outside_the_folder_are_refused(corpus, path):
    manifest = write_manifest(corpus, f"  - path: {path.format(tmp=corpus.parent)}\n")
    with pytest.raises(ManifestError, match=r"sources.yml:2: refused: .* outside .*allowed_roots"):
        load_manifest(manifest)


def test_allowed_roots_admit_another_folder(corpus):
    manifest = load_manifest(write_manifest(corpus, "  - path: ../secret.txt\n", "  allowed_roots: ..\n"))
    assert [s.location for s in manifest.sources] == [str(corpus.parent / "secret.txt")]


def test_symlinks_out_of_the_folder_and_special_files_are_not_read(corpus, tmp_path):
    docs = corpus / "docs"
    (docs / "leak.txt").symlink_to(corpus.parent / "secret.txt")
    (docs / "environ.txt").symlink_to("/proc/self/environ")
    store = RawStore(tmp_path / "raw")
    results = {Path(r.source_uri).name: r for r in fetch_sources(load_manifest(write_manifest(corpus, "  - path: docs/\n")), store, QUICK)}
    assert results["2020.html"].status == "fetched"
    assert results["leak.txt"].status == "failed" and "outside" in results["leak.txt"].error
    assert results["environ.txt"].status == "failed" and "outside" in results["environ.txt"].error
    # even inside an allowed root, /proc is no document
    allowed = load_manifest(write_manifest(corpus, "  - path: docs/environ.txt\n", "  allowed_roots: /proc\n"))
    (environ,) = fetch_sources(allowed, store, replace(QUICK, allowed_roots="/proc"))  # a given config replaces the manifest's settings
    assert environ.status == "failed" and "is a special file (under /proc)" in environ.error
    assert b"hunter2" not in b"".join(p.read_bytes() for p in (tmp_path / "raw" / "blobs").rglob("*") if p.is_file())


@pytest.mark.timeout(60)
def test_a_fifo_and_an_oversize_file_fail_alone(corpus, tmp_path):
    docs = corpus / "docs"
    (docs / "big.txt").write_bytes(b"x" * (QUICK.max_bytes + 1))
    (docs / "pipe.html").write_bytes(b"for now a file")
    manifest = load_manifest(write_manifest(corpus, "  - path: docs/\n"))
    (docs / "pipe.html").unlink()
    os.mkfifo(docs / "pipe.html")  # swapped after the manifest was read: opening it must not wait for a writer
    results = {Path(r.source_uri).name: r for r in fetch_sources(manifest, RawStore(tmp_path / "raw"), QUICK)}
    assert results["2020.html"].status == "fetched"
    assert results["pipe.html"].status == "failed" and "is a FIFO" in results["pipe.html"].error
    assert results["big.txt"].status == "failed" and f"larger than the cap of {QUICK.max_bytes} bytes" in results["big.txt"].error


def test_a_fifo_named_in_the_manifest_is_refused(corpus):
    os.mkfifo(corpus / "docs" / "pipe.html")
    with pytest.raises(ManifestError, match="neither a regular file nor a folder"):
        load_manifest(write_manifest(corpus, "  - path: docs/pipe.html\n"))


@pytest.mark.timeout(120)
def test_disclosure_parse_refuses_devices_and_fifos_and_goes_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.html")
    good = tmp_path / "good.txt"
    good.write_text("二、主动公开政府信息情况\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "parse", "/dev/zero", str(tmp_path / "pipe.html"), str(good), "--jsonl"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr
    import json

    issues = [[(i["code"], i["message"]) for i in json.loads(line)["issues"]] for line in proc.stdout.splitlines()]
    assert len(issues) == 3
    assert issues[0] == [("unreadable_file", "refused: /dev/zero is a special file (under /dev), not a document")]
    assert issues[1] == [("unreadable_file", f"refused: {tmp_path / 'pipe.html'} is a FIFO, not a document")]
    assert all(code != "unreadable_file" for code, _ in issues[2])


# --- item 8: report links are capped per listing and per run ------------------------------------------


def link_site(http_server, listings: int, links: int) -> str:
    routes = {}
    for n in range(listings):
        anchors = "".join(f"<a href='/l{n}/r{i}.html'>{2000 + i}年政府信息公开工作年度报告</a>" for i in range(links))
        routes[f"/l{n}/"] = page(html(anchors))
        routes.update({f"/l{n}/r{i}.html": page(html(f"<p>{n}-{i}</p>")) for i in range(links)})
    base, _ = start_site(http_server, routes)
    return base


def test_links_beyond_the_listing_cap_are_reported_not_fetched(http_server, tmp_path):
    base = link_site(http_server, 1, 30)
    messages: list[str] = []
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/l0/")])
    results = fetch_sources(manifest, RawStore(tmp_path), replace(QUICK, listing_max_links=10), progress=messages.append)
    assert [r.source_uri for r in results if r.status == "fetched"] == [f"{base}/l0/r{i}.html" for i in range(10)]
    (capped,) = [r for r in results if r.status == "failed"]
    assert capped.source_uri == f"{base}/l0/"
    assert capped.error == "link cap: 20 report link(s) not fetched (20 by listing_max_links=10); raise the setting to fetch them"
    assert any("10 report link(s)" in m and "20 more report link(s) left by listing_max_links=10" in m for m in messages)


def test_links_beyond_the_run_cap_are_reported_not_fetched(http_server, tmp_path):
    base = link_site(http_server, 2, 10)
    messages: list[str] = []
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/l{n}/") for n in range(2)])
    results = fetch_sources(manifest, RawStore(tmp_path), replace(QUICK, max_links_per_run=15), progress=messages.append)
    assert sum(r.status == "fetched" for r in results) == 15
    (capped,) = [r for r in results if r.status == "failed"]
    assert capped.source_uri == f"{base}/l1/" and "5 report link(s) not fetched (5 by max_links_per_run=15)" in capped.error
    assert any(m.startswith(f"listing {base}/l1/") and "5 more left by max_links_per_run=15" in m for m in messages)


@pytest.mark.timeout(60)
def test_a_paging_script_claiming_a_billion_pages_is_read_within_max_pages(http_server, tmp_path):
    script = "<script>createPageHTML(1000000000, 0, 'index', 'html');</script>"
    routes = {"/ndbg/index.html": page(html(f"<a href='r.html'>2020年度报告</a>{script}")), "/ndbg/r.html": page(html("<p>2020</p>"))}
    base, seen = start_site(http_server, routes)
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/ndbg/index.html", max_pages=3)])
    messages: list[str] = []
    results = fetch_sources(manifest, RawStore(tmp_path), QUICK, progress=messages.append)
    assert [r.source_uri for r in results if r.status == "fetched"] == [f"{base}/ndbg/r.html"]
    assert seen.counts["/ndbg/index_2.html"] == 1 and seen.counts["/ndbg/index_3.html"] == 0  # index_1, _2: 404, recorded
    assert any("3 page(s) read" in m and "997 more page(s) beyond max_pages=3" in m for m in messages)


# --- the size caps count decoded bytes -----------------------------------------------------------------


def test_a_gzipped_robots_txt_is_capped_after_decoding(http_server, tmp_path):
    """600 kB of rules in a few kB of gzip: past robots.txt's own 512 kB cap once decoded, though under max_decoded_bytes."""
    rules = gzip.compress(b"User-agent: *\nAllow: /\n" + b"# padding\n" * 60_000)
    routes = {
        "/robots.txt": lambda h, site: h.reply(200, rules, "text/plain", {"Content-Encoding": "gzip"}),
        "/report.html": page(html("<p>2020年度报告</p>")),
    }
    base, seen = start_site(http_server, routes)
    (result,) = fetch_sources(urls(f"{base}/report.html"), RawStore(tmp_path), replace(FAST, retries=0))
    assert result.status == "failed" and "decode past the cap of 512000 bytes" in result.error
    assert seen.counts["/report.html"] == 0


@pytest.mark.parametrize("coding", ["gzip", "deflate", "two gzip members"])
def test_decoding_goes_in_small_steps_and_loses_nothing(coding):
    """10 MB from 10 kB: decoded in pieces of at most INFLATE_STEP (never one buffer the size of the cap,
    which with its copy held twice the cap in memory), and every byte arrives, fed whole or in slices."""
    import zlib

    from orchestration.fetching.client import INFLATE_STEP, _Inflater

    payload = b"\0" * 10_000_000 + b"end"
    body = {"gzip": gzip.compress(payload), "deflate": zlib.compress(payload), "two gzip members": gzip.compress(payload[:7]) + gzip.compress(payload[7:])}[coding]
    for size in (len(body), 4096):
        inflater = _Inflater("deflate" if coding == "deflate" else "gzip", "test")
        pieces = [piece for start in range(0, len(body), size) for piece in inflater.feed(body[start : start + size], 10**9)]
        assert b"".join(pieces) == payload and max(map(len, pieces)) <= INFLATE_STEP
