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
