"""Alerts delivered to a real SMTP server (aiosmtpd) and real webhook receivers on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

import duckdb

from orchestration.alert_memory import changes, failing_reports, remember
from orchestration.alert_channels import AlertConfig, RateLimit, send_alert, webhook_payload
from orchestration.alerts import Alert, quality_alert
from orchestration.settings import SettingsError, resources_from_env

FAILING = [
    {"report_id": "r-001", "agency": "厦门市集美区行政审批管理局", "year": 2019, "source": "http://a.gov.cn/2019.html",
     "rules": ["R1_balance:total", "R3_outcome_total:natural_person"],
     "failures": [{"rule": "R1_balance", "instance": "total", "lhs": 12.0, "rhs": 13.0},
                  {"rule": "R3_outcome_total", "instance": "natural_person", "lhs": 5.0, "rhs": 4.0}]},
    {"report_id": "r-004", "agency": "某局", "year": 2021, "source": "http://b.gov.cn/004.html",
     "rules": ["R0_extraction:cell_count_mismatch"],
     "failures": [{"rule": "R0_extraction", "instance": "cell_count_mismatch", "lhs": None, "rhs": None}]},
]
RECOVERED = [{"report_id": "r-009", "agency": "某某街道办事处", "year": 2020, "source": "http://c.gov.cn/9.html"}]
ALERT = quality_alert(FAILING, RECOVERED, hard=True, run_link="http://127.0.0.1:3000/runs/abc123")
ALERT_EN = quality_alert(FAILING, RECOVERED, hard=True, run_link="http://127.0.0.1:3000/runs/abc123", language="en")


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
    """A webhook receiver: records each POST's path, query and JSON body, answers as the path says."""
    received: list[tuple[str, dict]] = []
    queries: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            path, _, query = self.path.partition("?")
            with lock:
                received.append((path, body))
                queries.append(parse_qs(query))
            if path.startswith("/broken"):
                status, answer = 500, b"boom"
            elif path.startswith("/echo"):  # an error page quoting the request, key and all
                status, answer = 500, f"unknown robot {self.path}".encode()
            elif path.startswith("/robot-refuses"):
                status, answer = 200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"}).encode()
            elif path.startswith("/feishu"):  # 飞书 checks the signature as its docs give it
                expected = base64.b64encode(hmac.new(f"{body.get('timestamp')}\n{SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
                ok = body.get("sign") == expected and abs(time.time() - int(body["timestamp"])) < 3600
                status, answer = 200, json.dumps({"code": 0, "msg": "success"} if ok else {"code": 19021, "msg": "sign match fail"}).encode()
            elif path.startswith("/dingtalk-signed"):  # 钉钉 加签: timestamp (ms) and sign in the query
                q = parse_qs(query)
                ts = q.get("timestamp", ["0"])[0]
                expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()).decode()
                ok = q.get("sign", [""])[0] == expected and abs(time.time() * 1000 - int(ts)) < 3_600_000
                status, answer = 200, json.dumps({"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"}).encode()
            else:
                status, answer = 200, json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    url = http_server(Handler)
    return url, received, queries


SECRET = "SEC-test-secret-0123456789"


def test_email_says_what_is_newly_failing_with_both_sides_in_chinese(smtp):
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
    assert message["Subject"] == ALERT.subject == "信息公开年报数据仓库：2 份报告新近未通过硬性规则（未通过即隔离）"
    body = message.get_content()
    for expected in ("新近未通过的报告 (2)", "厦门市集美区行政审批管理局 · 2019 年 · http://a.gov.cn/2019.html · r-001",
                     "R1_balance:total (左 12，右 13); R3_outcome_total:natural_person (左 5，右 4)",
                     "R0_extraction:cell_count_mismatch", "不再未通过的报告 (1)", "某某街道办事处 · 2020 年",
                     "新近未通过 2 · 不再未通过 1 · 未通过的规则实例 3", "Dagster 运行: http://127.0.0.1:3000/runs/abc123"):
        assert expected in body, body
    assert "R2_" not in body and "R5_" not in body  # the failing rules only, not the list of all hard rules


def test_english_by_setting():
    assert resources_from_env({"DISCLOSURE_ALERT_LANGUAGE": "en"})["alerts"].language == "en"
    text = ALERT_EN.text()
    assert ALERT_EN.subject == "disclosure-warehouse: 2 report(s) newly failing hard rules (quarantined)"
    assert "R1_balance:total (lhs 12, rhs 13)" in text and "Reports no longer failing (1)" in text
    with pytest.raises(SettingsError, match="DISCLOSURE_ALERT_LANGUAGE"):
        resources_from_env({"DISCLOSURE_ALERT_LANGUAGE": "fr"})


def test_wrong_smtp_password_is_a_failed_delivery_not_an_exception(smtp):
    port, inbox = smtp
    config = AlertConfig(smtp_host="127.0.0.1", smtp_port=port, smtp_user="alerts", smtp_password="wrong", alert_to=("a@example.org",))
    (delivery,) = send_alert(ALERT, config)
    assert not delivery.ok and "SMTPAuthenticationError" in delivery.error and inbox.messages == []


def test_each_webhook_format_receives_its_shape(receiver):
    base, received, _ = receiver
    spec = ",".join(f"{fmt}={base}/{fmt}?key=SECRET-KEY" for fmt in ("generic", "wecom", "dingtalk", "slack"))
    deliveries = send_alert(ALERT, alert_config({"DISCLOSURE_WEBHOOKS": spec}))
    assert [(d.channel, d.ok) for d in deliveries] == [("generic", True), ("wecom", True), ("dingtalk", True), ("slack", True)]
    assert not any("SECRET-KEY" in d.target for d in deliveries)
    got = dict(received)

    generic = got["/generic"]
    assert generic["subject"] == ALERT.subject and generic["counts"] == {"new_failures": 2, "recovered": 1, "failed_instances": 3}
    assert generic["failed_reports"][0]["failures"][0] == {"rule": "R1_balance", "instance": "total", "lhs": 12.0, "rhs": 13.0}
    assert generic["recovered_reports"][0]["report_id"] == "r-009"
    assert generic["links"] == {"Dagster 运行": "http://127.0.0.1:3000/runs/abc123"} and generic["kind"] == "quality"

    wecom = got["/wecom"]
    assert wecom["msgtype"] == "markdown" and set(wecom["markdown"]) == {"content"}
    content = wecom["markdown"]["content"]
    assert content.startswith(f"### {ALERT.subject}")
    assert "- 厦门市集美区行政审批管理局 · 2019 年 · [来源](http://a.gov.cn/2019.html) · `r-001`: R1_balance:total (左 12，右 13)" in content
    assert "[Dagster 运行](http://127.0.0.1:3000/runs/abc123)" in content

    dingtalk = got["/dingtalk"]
    assert dingtalk["msgtype"] == "markdown" and dingtalk["markdown"]["title"] == ALERT.subject
    assert "R0_extraction:cell_count_mismatch" in dingtalk["markdown"]["text"]

    slack = got["/slack"]
    assert slack["text"].startswith(ALERT.subject)
    assert slack["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": ALERT.subject}}
    flat = json.dumps(slack["blocks"], ensure_ascii=False)
    assert "R1_balance:total (左 12，右 13)" in flat and "[Dagster 运行](http://127.0.0.1:3000/runs/abc123)" in flat


def test_signed_feishu_and_dingtalk_robots_accept_the_signature(receiver):
    """The receivers check the signatures as the platforms document them; a wrong secret is refused by the robot."""
    base, received, queries = receiver
    spec = f"feishu={base}/feishu#secret={SECRET},dingtalk={base}/dingtalk-signed?access_token=TOKEN#secret={SECRET}"
    deliveries = send_alert(ALERT, alert_config({"DISCLOSURE_WEBHOOKS": spec}))
    assert [(d.channel, d.ok, d.error) for d in deliveries] == [("feishu", True, None), ("dingtalk", True, None)]
    (feishu_path, feishu), (ding_path, ding) = received
    assert feishu["msg_type"] == "interactive" and feishu["card"]["header"]["title"]["content"] == ALERT.subject
    assert "R1_balance:total (左 12，右 13)" in feishu["card"]["elements"][0]["content"]
    assert queries[1]["access_token"] == ["TOKEN"] and "sign" in queries[1] and ding["msgtype"] == "markdown"
    assert SECRET not in json.dumps(feishu) and all(SECRET not in v for q in queries for vs in q.values() for v in vs)

    wrong = f"feishu={base}/feishu#secret=WRONG,dingtalk={base}/dingtalk-signed?access_token=T#secret=WRONG"
    refused = send_alert(ALERT, alert_config({"DISCLOSURE_WEBHOOKS": wrong}))
    assert [(d.ok, d.error) for d in refused] == [(False, "errcode 19021: sign match fail"), (False, "errcode 310000: sign not match")]
    assert "WRONG" not in repr(refused)


def test_one_failing_channel_does_not_stop_the_others(receiver):
    base, received, _ = receiver
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
    base, _, _ = receiver
    with_password = base.replace("http://", "http://robot:pa55-SECRET@")
    spec = f"generic={with_password}/generic?key=KEY-SECRET,slack={base}/echo?token=TOKEN-SECRET"
    deliveries = send_alert(ALERT, alert_config({"DISCLOSURE_WEBHOOKS": spec}))
    assert [(d.channel, d.ok) for d in deliveries] == [("generic", True), ("slack", False)]
    shown = repr(deliveries)
    assert not any(s in shown for s in ("pa55-SECRET", "KEY-SECRET", "TOKEN-SECRET")), shown
    assert deliveries[0].target == f"{base}/…" and deliveries[1].error == "HTTP 500: unknown robot ***"


def test_long_alerts_are_cut_at_a_line_to_what_each_channel_accepts():
    many = quality_alert([{"report_id": f"r-{i:03}", "agency": "某某市某某区人民政府办公室" * 3, "year": 2020, "source": f"http://a.gov.cn/{i}.html",
                           "rules": ["R1_balance:total"], "failures": [{"rule": "R1_balance", "instance": "total", "lhs": i, "rhs": i + 1}]}
                          for i in range(200)], [], hard=True, run_link="http://127.0.0.1:3000/runs/x")
    wecom = webhook_payload("wecom", many)["markdown"]["content"]
    assert len(wecom.encode("utf-8")) <= 4096
    kept = wecom.count("\n- 某某市")
    assert 0 < kept < 200 and f"…… 等另外 {200 - kept} 项" in wecom  # whole report lines, then how many more
    assert wecom.rstrip().endswith("类型: 数据质量") and "[Dagster 运行]" in wecom  # the link survives the cut
    slack = webhook_payload("slack", many)
    assert all(len(b["text"]["text"]) <= 3000 for b in slack["blocks"] if b["type"] == "section")
    long_subject = Alert("disclosure-warehouse: " + "a very long subject word " * 20, "s", language="en")
    header = webhook_payload("slack", long_subject)["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    assert long_subject.subject.startswith(header[:-1] + " ")  # cut after a whole word
    assert len(webhook_payload("dingtalk", many)["markdown"]["text"].encode("utf-8")) <= 18_000


def test_robots_rate_limit_waits_for_the_window():
    """20 a minute (WeCom, DingTalk): the 21st send waits until the first is a minute old; past the bound it is refused."""
    now = [1000.0]
    slept = []
    limit = RateLimit(20, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    for i in range(20):
        assert limit.acquire()
        now[0] += 1
    assert limit.acquire(max_wait_s=70) and slept == [40.0]
    strict = RateLimit(1, clock=lambda: 0.0, sleep=lambda s: None)
    assert strict.acquire() and not strict.acquire(max_wait_s=10)


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"DISCLOSURE_WEBHOOKS": "teams=http://127.0.0.1/x"}, "DISCLOSURE_WEBHOOKS"),
        ({"DISCLOSURE_WEBHOOKS": "http://127.0.0.1/x"}, "DISCLOSURE_WEBHOOKS"),
        ({"DISCLOSURE_WEBHOOKS": "slack=ftp://127.0.0.1/x"}, "must be http(s)"),
        ({"DISCLOSURE_SMTP_HOST": "127.0.0.1"}, "DISCLOSURE_ALERT_TO"),
        ({"DISCLOSURE_SMTP_HOST": "127.0.0.1", "DISCLOSURE_ALERT_TO": "a@b", "DISCLOSURE_SMTP_PORT": "smtp"}, "DISCLOSURE_SMTP_PORT"),
        ({"DISCLOSURE_SMTP_STARTTLS": "maybe"}, "DISCLOSURE_SMTP_STARTTLS"),
        ({"DISCLOSURE_WEBHOOKS": "wecom=http://127.0.0.1/x#secret=S"}, "signed"),
    ],
)
def test_malformed_alert_settings_are_refused_by_name(env, problem):
    with pytest.raises(SettingsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        alert_config(env)


def test_defaults_and_nothing_configured():
    config = alert_config({"DISCLOSURE_SMTP_STARTTLS": "true"})
    assert config.smtp_port == 587 and config.smtp_starttls and not config.enabled
    assert send_alert(ALERT, alert_config({})) == []


def test_only_new_failures_and_recoveries_are_alerted(tmp_path):
    """What was alerted is remembered per report and severity in the work DB: the same failures again are not
    news; a new break in a known report, a new report and a recovery are."""
    with duckdb.connect(str(tmp_path / "work.duckdb")) as con:
        first = [("r1", "s1", "甲局", 2020, "R1_balance", "total", 1.0, 2.0), ("r2", "s2", "乙局", 2021, "R0_extraction", "missing_cell", None, None)]
        now = failing_reports(first)
        new, recovered = changes(con, "hard", now)
        assert [r["report_id"] for r in new] == ["r1", "r2"] and recovered == []
        remember(con, "hard", now)
        assert changes(con, "hard", now) == ([], [])
        assert [r["report_id"] for r in changes(con, "soft", now)[0]] == ["r1", "r2"]  # severities apart
        second = [first[0], ("r1", "s1", "甲局", 2020, "R3_outcome_total", "total", 3.0, 4.0), ("r3", "s3", "丙局", 2022, "R1_balance", "total", 5.0, 6.0)]
        new, recovered = changes(con, "hard", failing_reports(second))
        assert [r["report_id"] for r in new] == ["r1", "r3"]
        assert recovered == [{"report_id": "r2", "agency": "乙局", "year": 2021, "source": "s2"}]
        fewer = failing_reports(second[1:])  # r1 fixed one of its breaks: neither new nor recovered
        remember(con, "hard", failing_reports(second))
        assert changes(con, "hard", fewer) == ([], [])


def test_a_run_failure_alert_opens_in_its_language():
    """The refresh's own failure alert used to open with English ("the refresh run failed:") inside a Chinese message."""
    from orchestration.alerts import run_failure_alert

    zh = run_failure_alert("refresh", "0123456789abcdef", "", ["dbt_post_gate: RuntimeError: boom"], "run-id")
    assert zh.summary == "作业 refresh 的运行失败。 dbt_post_gate: RuntimeError: boom"
    en = run_failure_alert("refresh", "0123456789abcdef", "Execution of run failed.", [], "run-id", "en")
    assert en.summary == "The run of job refresh failed. Execution of run failed."
