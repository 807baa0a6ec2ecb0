"""Alerts: say what failed, which reports and rules, how many, and where to look — by e-mail and webhooks.

Channels come from the environment through AlertsResource (secrets never live in the repo):
``DISCLOSURE_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_STARTTLS``, ``DISCLOSURE_ALERT_FROM``,
``DISCLOSURE_ALERT_TO`` (comma-separated), and ``DISCLOSURE_WEBHOOKS``: comma-separated ``format=url`` with
format ``generic`` (the alert as JSON), ``wecom`` (企业微信 group robot), ``dingtalk`` (钉钉 robot) or ``slack``.
``send_alert`` tries every channel and reports each one's outcome; one broken channel never stops the others.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx

from orchestration.redaction import endpoint, redact, url_secrets

WEBHOOK_FORMATS = ("generic", "wecom", "dingtalk", "slack")
MAX_LISTED = 20  # failed reports listed in one message; the rest are counted
WECOM_MAX_BYTES = 4096  # the robot's markdown content limit
SLACK_MAX_CHARS = 2900  # a section block's text limit is 3000


@dataclass
class Alert:
    subject: str
    summary: str  # one or two sentences: what happened
    failed_reports: list[dict[str, Any]] = field(default_factory=list)  # report_id, agency, year, source, rules
    counts: dict[str, int] = field(default_factory=dict)  # e.g. reports, passed, quarantined, failed_rules
    links: dict[str, str] = field(default_factory=dict)  # label -> URL or path (Data Docs, Dagster run, ...)
    kind: str = "quality"  # quality | run_failure | fetch: what sort of alert, shown in every message

    def report_lines(self, style: str) -> list[str]:
        """One line per failed report (at most MAX_LISTED, then a count of the rest)."""
        lines = []
        for report in self.failed_reports[:MAX_LISTED]:
            rules = report.get("rules") or []
            rules = ", ".join(rules) if isinstance(rules, (list, tuple)) else str(rules)
            who = " ".join(str(report[k]) for k in ("agency", "year") if report.get(k) not in (None, ""))
            rid = report.get("report_id", "?")
            ident = f"`{rid}`" if style == "markdown" else str(rid)
            source = report.get("source")
            where = f" ({source})" if source else ""
            lines.append(f"- {ident} {who}{where}: {rules}".replace("  ", " "))
        if len(self.failed_reports) > MAX_LISTED:
            lines.append(f"- …and {len(self.failed_reports) - MAX_LISTED} more")
        return lines

    def counts_line(self, bold: str = "") -> str:
        return " · ".join(f"{bold}{name}{bold} {value}" for name, value in self.counts.items())

    def text(self) -> str:
        """The plain-text message (e-mail body)."""
        parts = [self.subject, "", self.summary, "", f"kind: {self.kind}"]
        if self.counts:
            parts.append(f"counts: {self.counts_line()}")
        if self.failed_reports:
            parts += ["", f"Failed reports ({len(self.failed_reports)}):", *self.report_lines("text")]
        if self.links:
            parts += ["", "Where to look:", *(f"- {label}: {target}" for label, target in self.links.items())]
        return "\n".join(parts) + "\n"

    def markdown(self) -> str:
        """The message in the markdown WeCom and DingTalk robots render."""
        parts = [f"### {self.subject}", self.summary, "", f"kind: {self.kind}"]
        if self.counts:
            parts.append(self.counts_line("**"))
        if self.failed_reports:
            parts += ["", f"**Failed reports ({len(self.failed_reports)})**", *self.report_lines("markdown")]
        if self.links:
            parts += ["", "**Where to look**", *(f"- {_md_link(label, target)}" for label, target in self.links.items())]
        return "\n".join(parts)


def run_failure_alert(job_name: str, run_id: str, reason: str, failed_steps: list[str], run_link: str) -> Alert:
    """The alert for a failed run (sent by the run-failure sensor, or by `disclosure refresh` when no sensor runs)."""
    return Alert(
        subject=f"disclosure-warehouse: run {run_id[:8]} of job {job_name} failed",
        summary=" ".join([reason, *failed_steps])[:2000],
        counts={"failed_steps": len(failed_steps)},
        links={"Dagster run": run_link},
        kind="run_failure",
    )


def _md_link(label: str, target: str) -> str:
    return f"[{label}]({target})" if urlsplit(target).scheme in ("http", "https") else f"{label}: `{target}`"


@dataclass(frozen=True)
class Webhook:
    format: str  # generic | wecom | dingtalk | slack
    url: str

    @property
    def target(self) -> str:
        """Where it goes, without the secret (robot keys live in the query string or the path, passwords before the host)."""
        return endpoint(self.url)


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
        """What no delivery report may show: the SMTP password, the webhooks' credentials and keys."""
        return [self.smtp_password or "", *(s for hook in self.webhooks for s in url_secrets(hook.url))]


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
        hooks.append(Webhook(fmt, url))
    return tuple(hooks)


@dataclass
class Delivery:
    channel: str  # smtp | generic | wecom | dingtalk | slack
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


def webhook_payload(fmt: str, alert: Alert) -> dict[str, Any]:
    """The JSON body each webhook format expects."""
    if fmt == "generic":
        return {**asdict(alert), "text": alert.text()}
    if fmt == "wecom":
        content = alert.markdown()
        if len(content.encode("utf-8")) > WECOM_MAX_BYTES:  # cut on a character boundary, marked
            content = content.encode("utf-8")[: WECOM_MAX_BYTES - 4].decode("utf-8", errors="ignore") + "\n…"
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if fmt == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": alert.subject, "text": alert.markdown()}}
    if fmt == "slack":
        return _slack_payload(alert)
    raise ValueError(f"unknown webhook format {fmt!r}")


def _slack_payload(alert: Alert) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{alert.summary}\n_kind: {alert.kind}_"}},
    ]
    if alert.counts:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in list(alert.counts.items())[:10]]})
    if alert.failed_reports:
        listing = "\n".join(alert.report_lines("markdown"))
        if len(listing) > SLACK_MAX_CHARS:
            listing = listing[:SLACK_MAX_CHARS] + "\n…"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Failed reports ({len(alert.failed_reports)})*\n{listing}"}})
    if alert.links:
        links = [f"<{t}|{label}>" if urlsplit(t).scheme in ("http", "https") else f"{label}: `{t}`" for label, t in alert.links.items()]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    return {"text": f"{alert.subject}: {alert.summary}", "blocks": blocks}


def _post_webhook(client: httpx.Client, hook: Webhook, alert: Alert) -> Delivery:
    try:
        response = client.post(hook.url, json=webhook_payload(hook.format, alert))
    except httpx.HTTPError as exc:
        return Delivery(hook.format, hook.target, False, f"{type(exc).__name__}: {exc}")
    if not response.is_success:
        return Delivery(hook.format, hook.target, False, f"HTTP {response.status_code}: {response.text[:200]}")
    if hook.format in ("wecom", "dingtalk"):  # these robots answer 200 with an error code in the body
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            return Delivery(hook.format, hook.target, False, f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")
    return Delivery(hook.format, hook.target, True)
