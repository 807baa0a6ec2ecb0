"""Secrets are never printed or stored.

Marker secrets go into the settings (a webhook URL with user:password and ?token=, the SMTP password) and
are used for real against receivers on 127.0.0.1: an SMTP server that checks the password, a webhook that
checks the credentials, one that answers 500 echoing the request URL. Then every output of `disclosure
refresh` (stdout, stderr), the Dagster storage (DAGSTER_HOME: event logs, compute logs) and the warehouse
folder (tool logs included) are searched for the markers: none may appear.
"""

import base64
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from orchestration.redaction import REDACTED, redact, url_secrets
from orchestration.warehouse.config import WarehousePaths
from tests.test_alerts import Inbox, free_port
from tests.test_refresh import BUNDLED, refresh

pytestmark = pytest.mark.slow
WEBHOOK_PASSWORD = "pw-MARKER-7f3a9"
WEBHOOK_TOKEN = "tok-MARKER-91c2e"
SMTP_PASSWORD = "smtp-MARKER-55d0b"
MARKERS = (WEBHOOK_PASSWORD, WEBHOOK_TOKEN, SMTP_PASSWORD)


class Hooks:
    """Two webhook receivers: one accepts (and records the credentials and token it was sent), one answers
    500 with the request URL in its error page."""

    def __init__(self):
        self.seen: list[tuple[str, str]] = []  # (path with query, Authorization header)
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                hooks.seen.append((self.path, self.headers.get("Authorization", "")))
                status, body = (500, f"no robot at {self.path}".encode()) if self.path.startswith("/echo") else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def channels():
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"alerts", SMTP_PASSWORD.encode()), handled=False)

    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticate, auth_require_tls=False)
    smtp.start()
    hooks = Hooks()
    env = {
        "DISCLOSURE_SMTP_HOST": "127.0.0.1",
        "DISCLOSURE_SMTP_PORT": str(smtp.port),
        "DISCLOSURE_SMTP_USER": "alerts",
        "DISCLOSURE_SMTP_PASSWORD": SMTP_PASSWORD,
        "DISCLOSURE_ALERT_TO": "ops@example.org",
        "DISCLOSURE_WEBHOOKS": f"generic=http://alerts:{WEBHOOK_PASSWORD}@{hooks.base}/hook?token={WEBHOOK_TOKEN},"
                               f"slack=http://{hooks.base}/echo?token={WEBHOOK_TOKEN}",
    }
    yield env, inbox, hooks
    smtp.stop()
    hooks.stop()


@pytest.fixture(scope="module")
def refreshes(tmp_path_factory, channels):
    """A good refresh (quality alerts), a failed one (garbage work DB: run-failure alert), a refused one."""
    env_channels, inbox, hooks = channels
    root = tmp_path_factory.mktemp("secrets")
    shutil.copytree(BUNDLED, root / "corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCLOSURE_")}
    env |= {"DAGSTER_HOME": str(root / "home"), "DISCLOSURE_SOURCES": str(root / "corpus"), **env_channels}
    warehouse = root / "wh" / "disclosure.duckdb"
    good = refresh(env, "--warehouse", str(warehouse))
    Path(WarehousePaths.beside(str(warehouse)).work_db).write_bytes(os.urandom(64 * 1024))
    failed = refresh(env, "--warehouse", str(warehouse))
    bad_hook = {**env, "DISCLOSURE_WEBHOOKS": f"http://alerts:{WEBHOOK_PASSWORD}@{hooks.base}/hook?token={WEBHOOK_TOKEN}"}
    refused = refresh(bad_hook, "--warehouse", str(warehouse))
    return {"root": root, "procs": {"good": good, "failed": failed, "refused": refused}, "inbox": inbox, "hooks": hooks}


def test_the_secrets_were_really_used(refreshes):
    """Not vacuous: the receivers got the password, the token and the SMTP login; the deliveries were reported."""
    procs, hooks = refreshes["procs"], refreshes["hooks"]
    assert procs["good"].returncode == 0 and procs["failed"].returncode == 1 and procs["refused"].returncode == 2
    basic = "Basic " + base64.b64encode(f"alerts:{WEBHOOK_PASSWORD}".encode()).decode()
    assert (f"/hook?token={WEBHOOK_TOKEN}", basic) in hooks.seen
    assert any(path == f"/echo?token={WEBHOOK_TOKEN}" for path, _ in hooks.seen)
    assert len(refreshes["inbox"].messages) >= 2  # logged in with the SMTP password: a quality and a run-failure mail
    out = procs["good"].stdout + procs["failed"].stdout
    assert "alert sent via generic to http://127.0.0.1:" in out and "alert sent via smtp" in out, out
    assert "alert NOT sent via slack" in out and "HTTP 500: no robot at ***" in out, out
    assert "DISCLOSURE_WEBHOOKS" in procs["refused"].stderr


def test_no_secret_in_any_output(refreshes):
    for name, proc in refreshes["procs"].items():
        for stream in ("stdout", "stderr"):
            text = getattr(proc, stream)
            leaked = [m for m in MARKERS if m in text]
            assert not leaked, f"{leaked} in the {name} refresh's {stream}:\n{text}"


def test_no_secret_in_the_dagster_storage_or_the_warehouse_folder(refreshes):
    root = refreshes["root"]
    files = [p for folder in (root / "home", root / "wh") for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.parent.name == "logs" for p in files)  # event logs, tool logs
    leaks = [(str(p.relative_to(root)), m) for p in files for m in MARKERS if m.encode() in p.read_bytes()]
    assert leaks == []


def test_redaction_hides_credentials_keys_and_the_echoed_request():
    url = f"https://bot:{WEBHOOK_PASSWORD}@hooks.example.org/services/T000/B000/{WEBHOOK_TOKEN}XYZ?key={WEBHOOK_TOKEN}"
    text = f"POST {url} failed; the server said: bad key at /services/T000/B000/{WEBHOOK_TOKEN}XYZ?key={WEBHOOK_TOKEN}"
    shown = redact(text, url_secrets(url))
    assert not any(m in shown for m in MARKERS) and "https://hooks.example.org/…" in shown and REDACTED in shown
    assert redact("see http://someone:pw@10.0.0.1/x", []) == f"see http://{REDACTED}@10.0.0.1/x"  # any URL's credentials
    assert redact("run http://127.0.0.1:3000/runs/abc took 3 s", url_secrets("http://127.0.0.1:3000")) == \
        "run http://127.0.0.1:3000/runs/abc took 3 s"  # nothing secret, nothing changed
