"""One redaction rule for everything the project prints or stores: alert deliveries, logs, error messages.

The secrets are in the configured endpoints: a URL's ``user:password@``, a webhook's query string (robot
keys such as WeCom's ``key=`` or DingTalk's ``access_token=``) and the SMTP password. ``redact`` hides them
by shape (the credentials of any URL) and by value (each configured secret wherever it shows up, e.g. in
an error page that echoes the request ``/hook?token=…``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "***"
MIN_SECRET_CHARS = 4  # shorter values would redact ordinary words and numbers everywhere
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"<>]+@")
SECRET_SETTINGS = ("DISCLOSURE_SMTP_PASSWORD",)  # whole values
ENDPOINT_SETTINGS = ("DISCLOSURE_WEBHOOKS", "DISCLOSURE_DAGSTER_URL")  # URLs (webhooks: comma-separated format=url)


def endpoint(url: str) -> str:
    """Where a URL points, safe to show: ``scheme://host:port/…`` (no credentials, path or query)."""
    parts = urlsplit(url.strip())
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}/…"


def url_secrets(url: str) -> list[str]:
    """The secret parts of an endpoint URL: its password and user:password, its query string and each
    query value, its path with the query (what a receiver echoes), a token-like last path segment (Slack)."""
    parts = urlsplit(url.strip())
    found = []
    if parts.password:
        found += [parts.password, f"{parts.username}:{parts.password}"]
    if parts.query:
        found += [parts.query, f"{parts.path}?{parts.query}"]
        found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    last_segment = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if len(last_segment) >= 16:
        found.append(last_segment)
    if found and "://" in url:
        found.append(url.strip())  # shown as its endpoint
    return found


def configured_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret in the environment's settings (SMTP password, webhook and UI URLs)."""
    env = os.environ if env is None else env
    found = [env.get(name, "") for name in SECRET_SETTINGS]
    for name in ENDPOINT_SETTINGS:
        for item in env.get(name, "").split(","):
            url = item.partition("=")[2] if "://" not in item.split("=", 1)[0] and "=" in item else item
            if url.strip():
                found += url_secrets(url)
    return found


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with URL credentials and every secret (default: the configured ones) hidden: a whole
    endpoint URL becomes its ``endpoint``, any other secret ***."""
    if not text:
        return text
    secrets = configured_secrets() if secrets is None else secrets
    values = {form for s in secrets if s for form in (s, unquote(s)) if len(form) >= MIN_SECRET_CHARS}
    for value in sorted(values, key=len, reverse=True):  # the whole URL before its parts
        text = text.replace(value, endpoint(value) if "://" in value else REDACTED)
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
