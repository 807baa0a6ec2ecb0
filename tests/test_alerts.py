"""Alerts delivered to a real SMTP server (aiosmtpd) and real webhook receivers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from orchestration.alerts import Alert, AlertConfig, send_alert, webhook_payload
from orchestration.settings import SettingsError, resources_from_env

ALERT = Alert(
    subject="disclosure-warehouse: hard rules failed for 2 report(s)",
    summary="2 of 5 reports were quarantined: their tables do not add up.",
    failed_reports=[
        {"report_id": "r-001", "agency": "厦门市集美区行政审批管理局", "year": 2019, "source": "http://a.gov.cn/2019.html", "rules": ["R1_balance:total", "R3_outcome_total:natural_person"]},
        {"report_id": "r-004", "agency": "某局", "year": 2021, "source": "/data/004.txt", "rules": ["R0_extraction:cell_count_mismatch"]},
    ],
    counts={"reports": 5, "passed": 3, "quarantined": 2},
    links={"Data Docs": "/srv/warehouse/data_docs/index.html", "Dagster run": "http://127.0.0.1:3000/runs/abc123"},
)


def alert_config(env: dict) -> AlertConfig:
    """The channels as the code location builds them from these environment variables (AlertsResource)."""
    return resources_from_env(env)["alerts"].config()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"alerts", b"s3cret"), handled=False)

    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticate, auth_require_tls=False)
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def receiver(http_server):
    """A webhook receiver: records each POST's path and JSON body, answers as the path says."""
    received: list[tuple[str, dict]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                received.append((self.path.split("?")[0], body))
            if self.path.startswith("/broken"):
                status, answer = 500, b"boom"
            elif self.path.startswith("/echo"):  # an error page quoting the request, key and all
                status, answer = 500, f"unknown robot {self.path}".encode()
            elif self.path.startswith("/robot-refuses"):
                status, answer = 200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"}).encode()
            else:
                status, answer = 200, json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    return http_server(Handler), received


def test_email_says_what_failed_which_reports_and_where_to_look(smtp):
    port, inbox = smtp
    config = alert_config(
        {
            "DISCLOSURE_SMTP_HOST": "127.0.0.1",
            "DISCLOSURE_SMTP_PORT": str(port),
            "DISCLOSURE_SMTP_USER": "alerts",
            "DISCLOSURE_SMTP_PASSWORD": "s3cret",
            "DISCLOSURE_ALERT_FROM": "warehouse@example.org",
            "DISCLOSURE_ALERT_TO": "data-team@example.org, oncall@example.org",
        }
    )
    (delivery,) = send_alert(ALERT, config)
    assert delivery.ok and delivery.channel == "smtp" and "s3cret" not in delivery.target
    ((sender, recipients, message),) = inbox.messages
    assert sender == "warehouse@example.org" and recipients == ["data-team@example.org", "oncall@example.org"]
    assert message["Subject"] == ALERT.subject
    body = message.get_content()
    for expected in ("2 of 5 reports were quarantined", "quarantined 2", "r-001 厦门市集美区行政审批管理局 2019", "R1_balance:total, R3_outcome_total:natural_person", "R0_extraction:cell_count_mismatch", "Data Docs: /srv/warehouse/data_docs/index.html", "http://127.0.0.1:3000/runs/abc123"):
        assert expected in body


def test_wrong_smtp_password_is_a_failed_delivery_not_an_exception(smtp):
    port, inbox = smtp
    config = AlertConfig(smtp_host="127.0.0.1", smtp_port=port, smtp_user="alerts", smtp_password="wrong", alert_to=("a@example.org",))
    (delivery,) = send_alert(ALERT, config)
    assert not delivery.ok and "SMTPAuthenticationError" in delivery.error and inbox.messages == []


def test_each_webhook_format_receives_its_shape(receiver):
    base, received = receiver
    spec = ",".join(f"{fmt}={base}/{fmt}?key=SECRET-KEY" for fmt in ("generic", "wecom", "dingtalk", "slack"))
    deliveries = send_alert(ALERT, alert_config({"DISCLOSURE_WEBHOOKS": spec}))
    assert [(d.channel, d.ok) for d in deliveries] == [("generic", True), ("wecom", True), ("dingtalk", True), ("slack", True)]
    assert not any("SECRET-KEY" in d.target for d in deliveries)
    got = dict(received)

    generic = got["/generic"]
    assert generic["subject"] == ALERT.subject and generic["counts"] == {"reports": 5, "passed": 3, "quarantined": 2}
    assert generic["failed_reports"][0]["rules"] == ["R1_balance:total", "R3_outcome_total:natural_person"]
    assert generic["links"]["Dagster run"] == "http://127.0.0.1:3000/runs/abc123" and generic["kind"] == "quality"

    wecom = got["/wecom"]
    assert wecom["msgtype"] == "markdown" and set(wecom["markdown"]) == {"content"}
    content = wecom["markdown"]["content"]
    assert content.startswith(f"### {ALERT.subject}") and "`r-001` 厦门市集美区行政审批管理局 2019" in content
    assert "[Dagster run](http://127.0.0.1:3000/runs/abc123)" in content and "Data Docs: `/srv/warehouse/data_docs/index.html`" in content

    dingtalk = got["/dingtalk"]
    assert dingtalk["msgtype"] == "markdown" and dingtalk["markdown"]["title"] == ALERT.subject
    assert "R0_extraction:cell_count_mismatch" in dingtalk["markdown"]["text"]

    slack = got["/slack"]
    assert slack["text"].startswith(ALERT.subject)
    assert slack["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": ALERT.subject}}
    flat = json.dumps(slack["blocks"], ensure_ascii=False)
    assert "*quarantined*\\n2" in flat and "R1_balance:total" in flat and "<http://127.0.0.1:3000/runs/abc123|Dagster run>" in flat


def test_one_failing_channel_does_not_stop_the_others(receiver):
    base, received = receiver
    closed = f"http://127.0.0.1:{free_port()}/hook"
    spec = f"generic={base}/broken,wecom={base}/robot-refuses,slack={closed},dingtalk={base}/dingtalk"
    config = alert_config({"DISCLOSURE_WEBHOOKS": spec, "DISCLOSURE_SMTP_HOST": "127.0.0.1", "DISCLOSURE_SMTP_PORT": str(free_port()), "DISCLOSURE_ALERT_TO": "a@example.org"})
    deliveries = send_alert(ALERT, config)
    outcome = {d.channel: (d.ok, d.error) for d in deliveries}
    assert outcome["smtp"][0] is False and "ConnectionRefusedError" in outcome["smtp"][1]
    assert outcome["generic"] == (False, "HTTP 500: boom")
    assert outcome["wecom"] == (False, "errcode 93000: invalid webhook url")
    assert outcome["slack"][0] is False and "ConnectError" in outcome["slack"][1]
    assert outcome["dingtalk"] == (True, None)
    assert [path for path, _ in received] == ["/broken", "/robot-refuses", "/dingtalk"]


def test_delivery_reports_never_show_credentials_or_keys(receiver):
    base, _ = receiver
    with_password = base.replace("http://", "http://robot:pa55-SECRET@")
    spec = f"generic={with_password}/generic?key=KEY-SECRET,slack={base}/echo?token=TOKEN-SECRET"
    deliveries = send_alert(ALERT, alert_config({"DISCLOSURE_WEBHOOKS": spec}))
    assert [(d.channel, d.ok) for d in deliveries] == [("generic", True), ("slack", False)]
    shown = repr(deliveries)
    assert not any(s in shown for s in ("pa55-SECRET", "KEY-SECRET", "TOKEN-SECRET")), shown
    assert deliveries[0].target == f"{base}/…" and deliveries[1].error == "HTTP 500: unknown robot ***"


def test_long_alerts_are_cut_to_what_each_channel_accepts():
    many = Alert("s", "many reports failed", failed_reports=[{"report_id": f"r-{i:03}", "agency": "某某市某某区人民政府办公室" * 3, "year": 2020, "rules": ["R1_balance:total"] * 4} for i in range(60)])
    assert "…and 40 more" in many.text()
    assert len(webhook_payload("wecom", many)["markdown"]["content"].encode("utf-8")) <= 4096
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in webhook_payload("slack", many)["blocks"])


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"DISCLOSURE_WEBHOOKS": "teams=http://127.0.0.1/x"}, "DISCLOSURE_WEBHOOKS"),
        ({"DISCLOSURE_WEBHOOKS": "http://127.0.0.1/x"}, "DISCLOSURE_WEBHOOKS"),
        ({"DISCLOSURE_WEBHOOKS": "slack=ftp://127.0.0.1/x"}, "must be http(s)"),
        ({"DISCLOSURE_SMTP_HOST": "127.0.0.1"}, "DISCLOSURE_ALERT_TO"),
        ({"DISCLOSURE_SMTP_HOST": "127.0.0.1", "DISCLOSURE_ALERT_TO": "a@b", "DISCLOSURE_SMTP_PORT": "smtp"}, "DISCLOSURE_SMTP_PORT"),
        ({"DISCLOSURE_SMTP_STARTTLS": "maybe"}, "DISCLOSURE_SMTP_STARTTLS"),
    ],
)
def test_malformed_alert_settings_are_refused_by_name(env, problem):
    with pytest.raises(SettingsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        alert_config(env)


def test_defaults_and_nothing_configured():
    config = alert_config({"DISCLOSURE_SMTP_STARTTLS": "true"})
    assert config.smtp_port == 587 and config.smtp_starttls and not config.enabled
    assert send_alert(ALERT, alert_config({})) == []
