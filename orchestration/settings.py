"""Every DISCLOSURE_* setting the project reads, in one list, checked before a refresh starts.

Each setting is still read where it is used (the fetcher, the alerts, the batch gate, …); ``check_settings``
calls those same readers up front, so a bad value is refused at start-up naming the variable
(``disclosure refresh`` exits 2, no run is started) instead of failing a run half-way.
Messages have one shape: ``NAME='value' is not …``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.redaction import redact


def number_setting(name: str, default: float, kind: type = float, minimum: float = 0, maximum: float | None = None) -> float:
    """A numeric setting from the environment (``kind`` int or float), ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    what = f"{'an integer' if kind is int else 'a number'}" + (f" between {minimum} and {maximum}" if maximum is not None else "")
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {what}") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name}={raw!r} is not {what}")
    if value < minimum:
        raise ValueError(f"{name}={raw!r} is less than {minimum}")
    return value


def parse_workers() -> int:
    """Parse processes: env DISCLOSURE_PARSE_WORKERS, else the cores, at most 4."""
    return number_setting("DISCLOSURE_PARSE_WORKERS", 0, int) or min(4, os.cpu_count() or 1)


def lock_timeout() -> float:
    """Seconds a run waits for another run writing the warehouse (env DISCLOSURE_LOCK_TIMEOUT)."""
    return number_setting("DISCLOSURE_LOCK_TIMEOUT", 3600.0)


def _path_setting(name: str, want: str) -> None:
    """A set path must not be the wrong kind of thing: a file where a folder is wanted, or the reverse;
    an override file that is named must exist (a typo would silently drop every correction)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return
    path = Path(raw).expanduser()
    if want == "file" and path.is_dir():
        raise ValueError(f"{name}={raw!r} is a folder, not a file")
    if want == "folder" and path.exists() and not path.is_dir():
        raise ValueError(f"{name}={raw!r} is a file, not a folder")
    if want == "existing file" and not path.is_file():
        raise ValueError(f"{name}={raw!r} is not an existing file")


def _paths() -> None:
    for name in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB"):
        _path_setting(name, "file")
    for name in ("DISCLOSURE_DATA_DOCS", "DISCLOSURE_PARQUET_DIR"):
        _path_setting(name, "folder")
    for name in ("DISCLOSURE_CORRECTIONS", "DISCLOSURE_WAIVERS", "DISCLOSURE_AGENCY_OVERRIDES"):
        _path_setting(name, "existing file")


def _sources() -> None:
    raw = os.environ.get("DISCLOSURE_SOURCES", "").strip()
    if raw and not Path(raw).expanduser().exists():  # its content is checked by the manifest reader
        raise ValueError(f"DISCLOSURE_SOURCES={raw!r} does not exist")


def _shares() -> None:
    from orchestration.warehouse.publish import DEFAULT_MAX_FAILED_SHARE, DEFAULT_MAX_QUARANTINE_SHARE, _share_from_env

    _share_from_env("DISCLOSURE_MAX_QUARANTINE_SHARE", DEFAULT_MAX_QUARANTINE_SHARE)
    _share_from_env("DISCLOSURE_MAX_FAILED_SHARE", DEFAULT_MAX_FAILED_SHARE)


def _cron() -> None:
    from dagster._utils.schedules import is_valid_cron_string

    raw = os.environ.get("DISCLOSURE_REFRESH_CRON", "")
    if raw and not is_valid_cron_string(raw):
        raise ValueError(f"DISCLOSURE_REFRESH_CRON={raw!r} is not a cron expression (e.g. '0 3 * * 1')")


def _dagster_url() -> None:
    raw = os.environ.get("DISCLOSURE_DAGSTER_URL", "").strip()
    if raw and (urlsplit(raw).scheme not in ("http", "https") or not urlsplit(raw).netloc):
        raise ValueError(f"DISCLOSURE_DAGSTER_URL={raw!r} is not an http(s)://host URL")


def _fetch() -> None:
    from orchestration.fetching.config import FetchConfig

    FetchConfig.from_env()


def _alerts() -> None:
    from orchestration.alerts import AlertConfig

    AlertConfig.from_env()


def _fetch_names() -> tuple[str, ...]:
    from orchestration.fetching.config import ENV_PREFIX, setting_names

    return tuple(ENV_PREFIX + name.upper() for name in setting_names())


def _worker_memory() -> None:
    from orchestration.parsing import worker_memory_bytes

    worker_memory_bytes()


ALERT_SETTINGS = (
    "DISCLOSURE_SMTP_HOST", "DISCLOSURE_SMTP_PORT", "DISCLOSURE_SMTP_USER", "DISCLOSURE_SMTP_PASSWORD",
    "DISCLOSURE_SMTP_STARTTLS", "DISCLOSURE_ALERT_FROM", "DISCLOSURE_ALERT_TO", "DISCLOSURE_WEBHOOKS",
)

# (the variables, the check that reads them as the project does): the one list of settings.
SETTINGS: tuple[tuple[tuple[str, ...] | Callable[[], tuple[str, ...]], Callable[[], object]], ...] = (
    (("DISCLOSURE_SOURCES",), _sources),
    (("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS", "DISCLOSURE_PARQUET_DIR",
      "DISCLOSURE_CORRECTIONS", "DISCLOSURE_WAIVERS", "DISCLOSURE_AGENCY_OVERRIDES"), _paths),
    (("DISCLOSURE_MAX_QUARANTINE_SHARE", "DISCLOSURE_MAX_FAILED_SHARE"), _shares),
    (("DISCLOSURE_PARSE_WORKERS",), parse_workers),
    (("DISCLOSURE_PARSE_WORKER_MEMORY_MB",), _worker_memory),
    (("DISCLOSURE_LOCK_TIMEOUT",), lock_timeout),
    (("DISCLOSURE_REFRESH_CRON",), _cron),
    (("DISCLOSURE_DAGSTER_URL",), _dagster_url),
    (_fetch_names, _fetch),
    (ALERT_SETTINGS, _alerts),
)


def setting_names() -> set[str]:
    return {name for names, _ in SETTINGS for name in (names() if callable(names) else names)}


def check_settings() -> list[str]:
    """Every problem with the DISCLOSURE_* settings in the environment (redacted), empty when all is well."""
    problems = []
    for _, check in SETTINGS:
        try:
            check()
        except ValueError as exc:
            problems.append(redact(str(exc)))
    return problems


def unknown_settings() -> list[str]:
    """DISCLOSURE_* variables in the environment that nothing reads (a typo leaves the default in force)."""
    known = setting_names()
    return sorted(name for name in os.environ if name.startswith("DISCLOSURE_") and name not in known)
