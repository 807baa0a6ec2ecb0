"""A chunk step parses while it fetches (issue #11): each document the manifest names goes to the parse
workers as soon as it is in the raw store, so the workers do not sit idle while the rest is fetched.

Shown without timing: the chunk's last source is a page on a local HTTP server that answers only once a
parse worker of this process exists (or after a bounded wait). Before, the pool started after the whole
fetch, so the server waited in vain."""

import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.parsing import PARSE_POOL_THRESHOLD, end_kept_workers
from tests.warehouse_support import query, run_refresh_job, warehouse_paths

BUNDLED = Path(__file__).resolve().parent.parent / "orchestration" / "sample_corpus" / "documents"
PAGE = (BUNDLED / "g01_2021_html_template.html").read_bytes()
WAIT_SECONDS = 30  # the most the held page waits for a parse worker


def held_page(seen_workers: list[bool]):
    """A handler serving ``PAGE`` once a parse worker process of this process is alive (or after WAIT_SECONDS)."""

    class Held(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/last.html":  # robots.txt: none
                self.send_error(404)
                return
            deadline = time.monotonic() + WAIT_SECONDS
            while not multiprocessing.active_children() and time.monotonic() < deadline:
                time.sleep(0.05)
            seen_workers.append(bool(multiprocessing.active_children()))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    return Held


@pytest.mark.timeout(600)
def test_a_chunk_step_parses_the_documents_it_has_fetched_while_it_fetches_the_rest(tmp_path, http_server, monkeypatch):
    end_kept_workers()  # (none from an earlier test: the workers the server waits for are this run's)
    monkeypatch.setenv("DISCLOSURE_PARSE_WORKERS", "2")
    seen_workers: list[bool] = []
    base = http_server(held_page(seen_workers))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    local = PARSE_POOL_THRESHOLD + 6
    for n in range(local):  # distinct bytes: each its own report
        (corpus / f"page{n:03d}.html").write_bytes(PAGE.replace(b"</body>", f"<p>{n}</p></body>".encode()))
    manifest = tmp_path / "sources.yml"
    manifest.write_text(
        "settings:\n  allowed_hosts: 127.0.0.1\n  min_interval_seconds: 0\n  retries: 0\n  total_timeout_seconds: 120\n"
        "  timeout_seconds: 120\n"
        "sources:\n  - path: corpus\n  - url: " + base + "/last.html\n", encoding="utf-8")
    paths = warehouse_paths(tmp_path / "wh")
    result, _ = run_refresh_job(paths, [AssetKey("source_documents"), AssetKey("raw_landing")], sources=manifest)
    assert result.success
    assert seen_workers == [True]  # before: no parse worker until every source was fetched
    landed = query(paths.work_db, "select count(*) as n from raw.documents").n[0]
    assert landed == local + 1  # every document parsed and landed, the held page too
