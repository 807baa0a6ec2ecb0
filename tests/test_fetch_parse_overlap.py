"""A chunk step parses while it fetches (issue #11): each document the manifest names goes to the parse
workers as soon as it is in the raw store, so the workers do not sit idle while the rest is fetched.

Shown without timing: the chunk's last source is a page on a local HTTP server that holds it until a
parse worker of this process exists (or a bounded wait ends). Before, the pool started after the whole
fetch, so the server waited in vain."""

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.parsing import PARSE_POOL_THRESHOLD, end_kept_workers
from tests.conftest import page_handler
from tests.test_fetch import html, page, start_site
from tests.warehouse_support import query, run_refresh_job, warehouse_paths

BUNDLED = Path(__file__).resolve().parent.parent / "orchestration" / "sample_corpus" / "documents"
PAGE = (BUNDLED / "g01_2021_html_template.html").read_bytes()
WAIT_SECONDS = 30  # the most the held page waits for a parse worker


def release_once_a_worker_parses(stall: threading.Event, requests: list, seen_workers: list[bool]) -> threading.Thread:
    """Hold the page (``stall``) from its request until a parse worker process of this process exists (or
    WAIT_SECONDS pass), noting whether one did."""

    def release() -> None:
        deadline = time.monotonic() + 300  # the run's start
        while not requests and time.monotonic() < deadline:
            time.sleep(0.05)
        deadline = time.monotonic() + WAIT_SECONDS
        while not multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen_workers.append(bool(requests) and bool(multiprocessing.active_children()))
        stall.clear()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(600)
def test_a_chunk_step_parses_the_documents_it_has_fetched_while_it_fetches_the_rest(tmp_path, http_server, monkeypatch):
    end_kept_workers()  # (none from an earlier test: the workers the server waits for are this run's)
    monkeypatch.setenv("DISCLOSURE_PARSE_WORKERS", "2")
    seen_workers: list[bool] = []
    stall, requests = threading.Event(), []
    stall.set()
    base = http_server(page_handler("/last.html", PAGE, stall=stall, requests=requests))
    release_once_a_worker_parses(stall, requests, seen_workers)
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


@pytest.mark.timeout(600)
def test_a_listings_documents_already_parsed_are_not_parsed_again(tmp_path, http_server):
    """Only what the manifest names is parsed as it arrives (the parser's record covers those); a listing's
    documents are checked against it once fetched, so an unchanged one is not parsed again."""
    pages = {f"/r{n}.html": page(PAGE.replace(b"</body>", f"<p>{n}</p></body>".encode())) for n in range(3)}
    pages["/list.html"] = page(html("".join(f'<a href="/r{n}.html">2021年政府信息公开工作年度报告{n}</a>' for n in range(3))))
    base, _ = start_site(http_server, pages)
    manifest = tmp_path / "sources.yml"
    manifest.write_text("settings:\n  allowed_hosts: 127.0.0.1\n  min_interval_seconds: 0\n"
                        f"sources:\n  - listing: {base}/list.html\n", encoding="utf-8")
    paths = warehouse_paths(tmp_path / "wh")
    lines = []
    for _ in range(2):
        result, instance = run_refresh_job(paths, [AssetKey("source_documents"), AssetKey("raw_landing")], sources=manifest)
        assert result.success
        lines += [e.user_message for e in instance.all_logs(result.run_id)
                  if e.dagster_event is None and e.user_message.startswith("chunk 1/1")]
    assert "parse 3/3" in lines[0]
    assert "parse 0/0" in lines[1], lines[1]  # before: every listed document parsed again
