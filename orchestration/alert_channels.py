"""Where alerts go: e-mail (SMTP) and the group robots people read them in, each in its own shape and limits.

``DISCLOSURE_WEBHOOKS`` is comma-separated ``format=url``, format one of ``generic`` (the alert as JSON),
``wecom`` (企业微信), ``dingtalk`` (钉钉), ``feishu`` (飞书/Lark) or ``slack``. A signed robot's secret
(钉钉 加签, 飞书 签名校验) goes in the URL's fragment, ``…#secret=SEC…``: a fragment is never sent, so
only the signature travels. 钉钉: ``timestamp`` (ms) and ``sign`` =
base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")) in the query string; 飞书: ``timestamp`` (s) and
``sign`` = base64(HMAC-SHA256(key="timestamp\\nsecret", empty message)) in the body.
``send_alert`` tries every channel and reports each one's outcome; one broken channel never stops the others.
WeCom and DingTalk robots take 20 messages a minute: sends past that wait for the window (bounded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import ssl
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit, urlunsplit

import httpx

from orchestration.alerts import Alert, cut_at_word
from orchestration.redaction import endpoint, redact, url_secrets

WEBHOOK_FORMATS = ("generic", "wecom", "dingtalk", "feishu", "slack")
SIGNED_FORMATS = ("dingtalk", "feishu")
# each robot's limit on its message (bytes of UTF-8 where the platform counts bytes)
WECOM_MAX_BYTES = 4096  # markdown content
DINGTALK_MAX_BYTES = 18_000  # markdown text (the robot refuses a body over 20 KB)
FEISHU_MAX_BYTES = 18_000  # card markdown (the robot refuses a body over 20 KB)
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
PER_MINUTE = {"wecom": 20, "dingtalk": 20, "feishu": 100}  # the platforms' documented robot limits
MAX_RATE_WAIT_S = 70.0  # a send waits at most this long for the robot's window, else it is reported not sent


@dataclass(frozen=True)
class Webhook:
    format: str  # one of WEBHOOK_FORMATS
    url: str  # as configured, the secret in its fragment for a signed robot

    @property
    def target(self) -> str:
        """Where it goes, without the secret (robot keys live in the query string or the path, passwords before the host)."""
        return endpoint(self.url)

    @property
    def post_url(self) -> str:
        """The URL requested: without the fragment."""
        return urlunsplit(urlsplit(self.url)._replace(fragment=""))

    @property
    def secret(self) -> str | None:
        return (parse_qs(urlsplit(self.url).fragment).get("secret") or [None])[0]


@dataclass(frozen=True)
class AlertConfig:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    alert_from: str = "disclosure-warehouse@localhost"
    alert_to: tuple[str, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    timeout_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host or self.webhooks)

    def secrets(self) -> list[str]:
        """What no delivery report may show: the SMTP password, the webhooks' credentials, keys and signing secrets."""
        hooks = [s for hook in self.webhooks for s in [*url_secrets(hook.url), hook.secret or ""]]
        return [self.smtp_password or "", *hooks]


def parse_webhooks(spec: str) -> tuple[Webhook, ...]:
    hooks = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        fmt, sep, url = item.partition("=")
        fmt = fmt.strip().lower()
        if not sep or fmt not in WEBHOOK_FORMATS:
            raise ValueError(f"DISCLOSURE_WEBHOOKS: {redact(item.split('=')[0], url_secrets(item))!r} is not format=url with format in {'|'.join(WEBHOOK_FORMATS)}")
        url = url.strip()
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"DISCLOSURE_WEBHOOKS: the {fmt} URL must be http(s)://host/...")
        hook = Webhook(fmt, url)
        if urlsplit(url).fragment and (fmt not in SIGNED_FORMATS or not hook.secret):
            raise ValueError(f"DISCLOSURE_WEBHOOKS: a #secret=… fragment is for signed {'/'.join(SIGNED_FORMATS)} robots only")
        hooks.append(hook)
    return tuple(hooks)


@dataclass
class Delivery:
    channel: str  # smtp | one of WEBHOOK_FORMATS
    target: str  # recipients or webhook host; never a secret
    ok: bool
    error: str | None = None


def send_alert(alert: Alert, config: AlertConfig) -> list[Delivery]:
    """Send through every configured channel; never raises for a failed channel (see each Delivery, whose
    error is redacted: a receiver may echo the request URL with its key)."""
    deliveries = []
    if config.smtp_host:
        deliveries.append(_send_email(alert, config))
    with httpx.Client(timeout=config.timeout_seconds, trust_env=False) as client:
        for hook in config.webhooks:
            deliveries.append(_post_webhook(client, hook, alert))
    for delivery in deliveries:
        delivery.error = redact(delivery.error, config.secrets()) if delivery.error else delivery.error
    return deliveries


def _send_email(alert: Alert, config: AlertConfig) -> Delivery:
    target = f"{', '.join(config.alert_to)} via {config.smtp_host}:{config.smtp_port}"
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = config.alert_from
    message["To"] = ", ".join(config.alert_to)
    message.set_content(alert.text())
    try:
        smtp_class = smtplib.SMTP_SSL if config.smtp_port == 465 else smtplib.SMTP
        with smtp_class(config.smtp_host, config.smtp_port, timeout=config.timeout_seconds) as smtp:
            if config.smtp_starttls and smtp_class is smtplib.SMTP:
                smtp.starttls(context=ssl.create_default_context())
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return Delivery("smtp", target, False, f"{type(exc).__name__}: {exc}")
    return Delivery("smtp", target, True)


def _fits_bytes(limit: int):
    return lambda text: len(text.encode("utf-8")) <= limit


def webhook_payload(fmt: str, alert: Alert) -> dict[str, Any]:
    """The JSON body each webhook format expects, cut to its limits."""
    if fmt == "generic":
        return {**asdict(alert), "text": alert.text()}
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": alert.markdown(_fits_bytes(WECOM_MAX_BYTES))}}
    if fmt == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": alert.subject, "text": alert.markdown(_fits_bytes(DINGTALK_MAX_BYTES))}}
    if fmt == "feishu":
        return {"msg_type": "interactive", "card": {
            "header": {"title": {"tag": "plain_text", "content": alert.subject}, "template": "red" if alert.failed_reports or alert.kind == "run_failure" else "green"},
            "elements": [{"tag": "markdown", "content": alert.markdown(_fits_bytes(FEISHU_MAX_BYTES))}],
        }}
    if fmt == "slack":
        return _slack_payload(alert)
    raise ValueError(f"unknown webhook format {fmt!r}")


def _slack_payload(alert: Alert) -> dict[str, Any]:
    header = cut_at_word(alert.subject, SLACK_HEADER_CHARS)
    body = alert.render("markdown", lambda text: len(text) <= SLACK_SECTION_CHARS).replace("**", "*")
    return {"text": f"{header}: {alert.summary}"[:SLACK_SECTION_CHARS],
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": header}},
                       {"type": "section", "text": {"type": "mrkdwn", "text": body}}]}


def sign(fmt: str, secret: str, timestamp: int) -> str:
    """The robot's signature of ``timestamp`` (DingTalk: ms, Feishu: s) with ``secret``."""
    to_sign = f"{timestamp}\n{secret}".encode()
    if fmt == "dingtalk":
        digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    elif fmt == "feishu":
        digest = hmac.new(to_sign, b"", hashlib.sha256).digest()
    else:
        raise ValueError(f"{fmt} robots are not signed")
    return base64.b64encode(digest).decode()


def _signed(hook: Webhook, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(URL, body) with the robot's signature where its secret is configured."""
    if hook.secret is None:
        return hook.post_url, body
    if hook.format == "dingtalk":
        ts = int(time.time() * 1000)
        sep = "&" if urlsplit(hook.post_url).query else "?"
        return f"{hook.post_url}{sep}timestamp={ts}&sign={quote_plus(sign('dingtalk', hook.secret, ts))}", body
    ts = int(time.time())
    return hook.post_url, {"timestamp": str(ts), "sign": sign("feishu", hook.secret, ts), **body}


class RateLimit:
    """At most ``per_minute`` sends per robot in any 60 s: a send past that waits (bounded) for the window."""

    def __init__(self, per_minute: int, clock=time.monotonic, sleep=time.sleep):
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def acquire(self, max_wait_s: float = MAX_RATE_WAIT_S) -> bool:
        """True once a send may go; False when it would have to wait longer than ``max_wait_s``."""
        with self.lock:
            now = self.clock()
            while self.sent and now - self.sent[0] >= 60:
                self.sent.popleft()
            if len(self.sent) >= self.per_minute:
                wait = 60 - (now - self.sent[0])
                if wait > max_wait_s:
                    return False
                self.sleep(wait)
                now = self.clock()
                self.sent.popleft()
            self.sent.append(now)
            return True


_LIMITS: dict[str, RateLimit] = {}
_LIMITS_LOCK = threading.Lock()


def rate_limit(hook: Webhook) -> RateLimit | None:
    """The one window per robot URL in this process (its key is in the URL)."""
    if hook.format not in PER_MINUTE:
        return None
    with _LIMITS_LOCK:
        return _LIMITS.setdefault(hook.post_url, RateLimit(PER_MINUTE[hook.format]))


def _post_webhook(client: httpx.Client, hook: Webhook, alert: Alert) -> Delivery:
    limit = rate_limit(hook)
    if limit is not None and not limit.acquire():
        return Delivery(hook.format, hook.target, False, f"rate limit: more than {limit.per_minute} messages a minute to this robot")
    url, body = _signed(hook, webhook_payload(hook.format, alert))
    try:
        response = client.post(url, json=body)
    except httpx.HTTPError as exc:
        return Delivery(hook.format, hook.target, False, f"{type(exc).__name__}: {exc}")
    if not response.is_success:
        return Delivery(hook.format, hook.target, False, f"HTTP {response.status_code}: {response.text[:200]}")
    if hook.format in ("wecom", "dingtalk", "feishu"):  # these robots answer 200 with an error code in the body
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict):
            code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
            if code not in (0, None):
                message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
                return Delivery(hook.format, hook.target, False, f"errcode {code}: {message}")
    return Delivery(hook.format, hook.target, True)
