"""Fetch settings: one dataclass, filled from defaults, then the manifest's ``settings:``, then the operator's overrides.

The overrides come from the environment (``DISCLOSURE_FETCH_<FIELD>``, e.g. ``DISCLOSURE_FETCH_TIMEOUT_SECONDS``)
through orchestration's FetchResource, so an operator can override any manifest setting without editing
the manifest; this module itself reads no environment.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from extract.loading import MAX_DOCUMENT_BYTES

ENV_PREFIX = "DISCLOSURE_FETCH_"
USER_AGENT = "disclosure-warehouse/0.1"
ROBOTS_TOKEN = "disclosure-warehouse"  # the product token robots.txt groups are matched against

# Declared document types; a URL answering with anything else is refused as "not a document".
DOCUMENT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",  # servers send .docx, .pdf, .wps this way; the parser tells the format from the bytes
)


@dataclass(frozen=True)
class FetchConfig:
    """How politely and how defensively to fetch. Defaults suit a government site on the public internet."""

    user_agent: str = USER_AGENT
    contact: str = ""  # an e-mail or URL put in the User-Agent so a webmaster can reach the operator
    timeout_seconds: float = 20.0  # connect / read / write timeout of one socket operation
    total_timeout_seconds: float = 120.0  # wall-clock cap of one request: connect, headers and body (slow-drip servers)
    retries: int = 3  # extra attempts after a timeout, a dropped connection, a 429 or a 5xx
    backoff_seconds: float = 1.0  # first retry delay; doubles each attempt
    max_backoff_seconds: float = 30.0
    per_host_concurrency: int = 2  # requests in flight to one host at once
    min_interval_seconds: float = 1.0  # between request starts to one host (robots Crawl-delay raises it)
    workers: int = 8  # sources fetched in parallel overall
    max_bytes: int = MAX_DOCUMENT_BYTES  # body size on the wire; a local file's size
    max_decoded_bytes: int = 60_000_000  # body size after gzip/deflate decoding (decompression bombs)
    max_redirects: int = 5
    respect_robots: bool = True
    listing_max_pages: int = 10  # default page budget of a listing source
    listing_max_links: int = 1000  # report links taken from one listing; the rest are reported, not fetched
    max_links_per_run: int = 10000  # report links taken from all listings of a run together
    allowed_hosts: str = ""  # comma-separated hosts that may resolve to non-public addresses (e.g. 127.0.0.1)
    attachment_max_links: int = 5  # attachment links followed from one report page (0: none); the rest are reported
    attachment_max_bytes: int = MAX_DOCUMENT_BYTES  # one attachment's body (max_bytes still applies)
    allowed_roots: str = ""  # comma-separated folders local sources may lie in besides the manifest's own

    @property
    def user_agent_header(self) -> str:
        return f"{self.user_agent} (+{self.contact})" if self.contact else self.user_agent

    @classmethod
    def resolve(cls, settings: Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None) -> FetchConfig:
        """Defaults, overridden by manifest ``settings`` (checked by ``coerce``), overridden by ``overrides``
        (already typed and checked: FetchResource's fields that are set)."""
        values: dict[str, Any] = {**(settings or {}), **{k: v for k, v in (overrides or {}).items() if v is not None}}
        return replace(cls(), **values)


def setting_names() -> list[str]:
    return [f.name for f in fields(FetchConfig)]


def coerce(name: str, value: Any) -> Any:
    """Convert a setting to its field's type, refusing nonsense (negative sizes, 'yes please' for a bool);
    the ValueError's message follows the value ("is not an integer")."""
    default = getattr(FetchConfig(), name)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("is not true/false")
    if isinstance(default, (int, float)):
        if isinstance(value, bool):
            raise ValueError("is not a number")
        try:
            number = type(default)(value) if not isinstance(default, int) else int(str(value).replace("_", ""))
        except (TypeError, ValueError):
            raise ValueError(f"is not {'an integer' if isinstance(default, int) else 'a number'}") from None
        if number < 0:
            raise ValueError("is negative (must not be)")
        return number
    if not isinstance(value, str):
        raise ValueError("is not text")
    return value
