"""Fetch throughput against a local site: a listing of generated report pages on 127.0.0.1.

    uv run python -m tests.bench.fetch_throughput [--n 200] [--rounds 3]

Per round, a fresh raw store: the first pass fetches everything (200s, bodies stored), the
second revalidates (ETag -> 304, nothing stored). Politeness is off (no interval, 8 in flight)
so the numbers are the client's own cost: documents per second, median of the rounds, and the
second pass's speed-up. With the defaults (1 s between requests to one host) a real site is
fetched at about one page a second whatever these numbers say. It reports; it does not assert.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.fetching import FetchConfig, Manifest, RawStore, SourceSpec, fetch_sources
from orchestration.fetching.attachments import find_attachments
from tests.corpus import generate


def serve(pages: dict[str, tuple[bytes, dict[str, str]]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real sites do

        def do_GET(self) -> None:
            if self.path not in pages:
                body, headers = b"not found", {}
                self.send_response(404)
            else:
                body, headers = pages[self.path]
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    body = b""
                    self.send_response(304)
                else:
                    self.send_response(200)
                headers = {**headers, "ETag": etag}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=200, help="generated pages on the site")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    docs = generate(args.n, seed=0)
    pages = {f"/ndbg/{d.name}": (d.data, dict(d.headers)) for d in docs}
    links = "".join(f"<a href='/ndbg/{d.name}'>{d.truth['agency']}{d.truth['year']}年政府信息公开工作年度报告</a>" for d in docs)
    pages["/ndbg/"] = (f"<html><body>{links}</body></html>".encode(), {"Content-Type": "text/html; charset=utf-8"})
    pages["/robots.txt"] = (b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    for d in docs:  # the attachments the article pages link (attachment_only), served as small PDFs
        for link in find_attachments(d.data.decode(d.meta["encoding"], "replace"), f"http://127.0.0.1/ndbg/{d.name}").links:
            pages[urlsplit(link.url).path] = (b"%PDF-1.4\n% " + link.url.encode() + b"\n%%EOF\n", {"Content-Type": "application/pdf"})
    documents = len(pages) - 2  # the report pages and their attachments
    megabytes = sum(len(d.data) for d in docs) / 1e6
    server = serve(pages)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    manifest = Manifest(sources=[SourceSpec(kind="listing", location=f"{base}/ndbg/", max_pages=1)])
    config = FetchConfig(min_interval_seconds=0, per_host_concurrency=8, workers=8, retries=0, allowed_hosts="127.0.0.1")
    print(f"{args.n} generated pages and {documents - args.n} attachments ({megabytes:.1f} MB) on {base}; {args.rounds} rounds", flush=True)

    first, second = [], []
    for round_number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            store = RawStore(Path(tmp))
            for passes, expect in ((first, "fetched"), (second, "unchanged")):
                start = time.perf_counter()
                results = fetch_sources(manifest, store, config)
                elapsed = time.perf_counter() - start
                wrong = [r for r in results if r.status != expect]
                if wrong or len(results) != documents:
                    print(f"unexpected: {len(results)} results, {len(wrong)} not {expect}: {wrong[:1]}")
                    return 1
                passes.append(documents / elapsed)
        print(f"round {round_number}: first pass {first[-1]:.0f} docs/s, revalidation {second[-1]:.0f} docs/s", flush=True)
    server.shutdown()
    print(f"median: first pass {statistics.median(first):.0f} docs/s ({statistics.median(first) * megabytes / documents:.1f} MB/s), "
          f"revalidation {statistics.median(second):.0f} docs/s ({statistics.median(second) / statistics.median(first):.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
