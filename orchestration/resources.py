"""Dagster resources: where the warehouse lives (and its one-writer lock), the sources, dbt, alerting.

Every resource reads its settings from environment variables with sane defaults, so the same
definitions serve `dagster dev`, the daemon's schedule and `disclosure refresh` (which passes its
--sources/--warehouse through run config).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from dagster_dbt import DbtCliResource, DbtProject
from pydantic import Field

REPO = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO / "dbt_project"
WRITER_TAG = "disclosure/writes-warehouse"  # the run-queue tag that keeps warehouse writers from overlapping


class WarehouseLockTimeout(RuntimeError):
    """Another run held the warehouse for longer than we were willing to wait."""


@contextmanager
def warehouse_lock(work_db: Path, holder: str, timeout_s: float, on_wait=None) -> Iterator[None]:
    """Hold an exclusive lock on the work DB for a whole run (DuckDB allows one writer).

    The last line of defence behind the run queue: a scheduled run and a manual one that start
    together serialise here; the second waits (up to ``timeout_s``) and then refuses clearly.
    """
    lock_path = work_db.with_name(work_db.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited and on_wait is not None:
                    on_wait(_read_holder(lock_path))
                waited = True
                if time.monotonic() > deadline:
                    raise WarehouseLockTimeout(
                        f"the warehouse work DB {work_db} is locked by {_read_holder(lock_path) or 'another run'}; "
                        f"gave up after {timeout_s:.0f}s (DISCLOSURE_LOCK_TIMEOUT)"
                    ) from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(lock_path: Path) -> str:
    try:
        return lock_path.read_text().strip()
    except OSError:
        return ""


class WarehouseResource(ConfigurableResource):
    """Where the published warehouse, the work DB, Data Docs and Parquet exports live.

    While a run executes, the resource holds the work DB lock, so warehouse writers never overlap.
    """

    warehouse: str = Field(
        default="",
        description="the published DuckDB file; empty: env DISCLOSURE_WAREHOUSE, else warehouse/disclosure.duckdb",
    )
    lock_timeout_s: float = Field(
        default=-1.0,
        description="seconds a run waits for another run holding the warehouse; < 0: env DISCLOSURE_LOCK_TIMEOUT, else 3600",
    )

    def paths(self):
        """The warehouse helper's resolved paths (published, work_db, data_docs_dir, parquet_dir, dbt_project_dir)."""
        from orchestration.warehouse.config import WarehousePaths

        return WarehousePaths.from_env(self.warehouse or None)

    def lock_timeout(self) -> float:
        from orchestration.settings import lock_timeout

        if self.lock_timeout_s >= 0:
            return self.lock_timeout_s
        return lock_timeout()

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[WarehouseResource]:
        work_db = Path(self.paths().work_db)
        run_id = context.run_id or "a run"
        log = context.log

        def on_wait(holder: str) -> None:
            if log is not None:
                log.info(f"waiting for the warehouse: {work_db} is in use by {holder or 'another run'}")

        with warehouse_lock(work_db, holder=f"run {run_id} (pid {os.getpid()})", timeout_s=self.lock_timeout(), on_wait=on_wait):
            if log is not None:
                log.info(f"warehouse lock acquired for run {run_id}")
            yield self
        if log is not None:
            log.info(f"warehouse lock released by run {run_id}")


class SourcesResource(ConfigurableResource):
    """The sources manifest (or a folder of documents) to refresh from, and the fetcher's settings."""

    sources: str = Field(
        default="",
        description="a sources manifest (YAML) or a folder of documents; empty: env DISCLOSURE_SOURCES, else the bundled sample corpus",
    )

    def location(self) -> Path:
        from orchestration.fetching.manifest import default_manifest_path

        chosen = self.sources or os.environ.get("DISCLOSURE_SOURCES", "")
        return Path(chosen).expanduser().resolve() if chosen else default_manifest_path()

    def manifest(self):
        """The parsed manifest; raises the fetcher's ManifestError on a malformed one."""
        from orchestration.fetching.manifest import manifest_for

        return manifest_for(self.location())


class AlertsResource(ConfigurableResource):
    """Sends alerts by e-mail and webhooks, configured by DISCLOSURE_SMTP_* / DISCLOSURE_ALERT_* / DISCLOSURE_WEBHOOKS."""

    dagster_url: str = Field(
        default="",
        description="the UI's address for links in alerts, e.g. http://127.0.0.1:3000; empty: env DISCLOSURE_DAGSTER_URL",
    )

    def run_link(self, run_id: str) -> str:
        """Where a person sees the run: the UI's run page when its address is known, else the run id."""
        base = (self.dagster_url or os.environ.get("DISCLOSURE_DAGSTER_URL", "")).rstrip("/")
        return f"{base}/runs/{run_id}" if base else run_id

    def send(self, alert, log=None) -> list:
        """Send ``alert`` (orchestration.alerts.Alert) on every channel; log each delivery; never raise for a channel."""
        from orchestration.alerts import AlertConfig, send_alert

        config = AlertConfig.from_env()
        if not config.enabled:
            if log is not None:
                log.info(f"alert not sent (no channel configured): {alert.subject}")
            return []
        from orchestration.redaction import redact

        deliveries = send_alert(alert, config)
        for d in deliveries:
            if log is not None:
                line = f"alert {'sent' if d.ok else 'NOT sent'} via {d.channel} to {d.target}" + (f": {d.error}" if d.error else "")
                (log.info if d.ok else log.warning)(redact(line, config.secrets()))
        return deliveries


def dbt_project() -> DbtProject:
    """The dbt project, with its manifest generated (``dbt parse``) when missing or older than its sources."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    if _manifest_stale(project):
        project.preparer.prepare(project)  # parsing needs no database (profiles.yml has a default path)
    return project


def dbt_source_files(project_dir: Path) -> list[Path]:
    """The files a dbt manifest (and a build) is made from."""
    root = Path(project_dir)
    files = [p for p in (root / "dbt_project.yml", root / "profiles.yml") if p.exists()]
    for sub in ("models", "seeds", "macros", "tests", "snapshots"):
        if (root / sub).is_dir():
            files.extend(sorted(p for p in (root / sub).rglob("*") if p.is_file()))
    return files


def _manifest_stale(project: DbtProject) -> bool:
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in dbt_source_files(Path(project.project_dir)))


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project)
