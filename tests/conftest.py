"""Shared pytest fixtures."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The five real seed documents (../shared/seeds) and their expected truth."""
    if not SEEDS.is_dir():
        pytest.fail(f"seed documents not found at {SEEDS}: ../shared must sit beside the repo")
    return SEEDS


@pytest.fixture
def http_server():
    """Start real HTTP servers on 127.0.0.1: ``start(handler_class) -> base URL``; all stopped after the test."""
    yield from _http_servers()


@pytest.fixture(scope="module")
def http_server_module():
    """``http_server`` for a whole module (its tests share one site and one warehouse)."""
    yield from _http_servers()


def _http_servers():
    import threading
    from http.server import ThreadingHTTPServer

    servers = []

    def start(handler) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def page_handler(path: str, body: bytes, etag: str | None = None, stall=None, requests: list | None = None):
    """An HTTP handler class for ``http_server`` serving ``body`` as UTF-8 HTML at ``path`` (other paths: 404).

    ``etag``: sent with the page, and a request naming it in If-None-Match gets a bare 304;
    ``stall`` (a ``threading.Event``): while set, every request for the page is held open unanswered;
    ``requests``: each request's If-None-Match (None when absent) is appended to it."""
    import time
    from http.server import BaseHTTPRequestHandler

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != path:
                self.send_error(404)
                return
            validator = self.headers.get("If-None-Match")
            if requests is not None:
                requests.append(validator)
            while stall is not None and stall.is_set():
                time.sleep(0.1)
            if etag is not None and validator == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            if etag is not None:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Page
