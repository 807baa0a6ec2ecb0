"""Dagster resources: where the warehouse lives (and its one-writer lock), the sources, fetching, parsing,
dbt, alerting.

Every setting is a typed, validated field (pydantic: ranges, booleans, paths) tagged with its environment
variable; orchestration/settings.py builds the resources from the environment, for definitions.py (the UI
shows the fields, secrets as their EnvVar) and for `disclosure refresh` (which checks them before a run and
passes its --sources/--warehouse through run config). Nothing else reads the environment.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from dataclasses import fields as dataclass_fields
from typing import Literal, Optional
from urllib.parse import urlsplit

import duckdb
from dagster import ConfigurableResource, EnvVar, InitResourceContext
from dagster_dbt import DbtCliResource, DbtProject
from pydantic import Field, create_model, field_validator, model_validator

from orchestration.warehouse.config import DBT_PROJECT_DIR
from orchestration.warehouse.publish import DEFAULT_STORAGE_VERSION

WRITER_TAG = "disclosure/writes-warehouse"  # the run-queue tag that keeps warehouse writers from overlapping
ALERTED_BY_TAG = "disclosure/alerted-by"  # a run whose failure its launcher alerts (the run-failure sensor skips it)


class WarehouseLockTimeout(RuntimeError):
    """Another run held the warehouse for longer than we were willing to wait."""


@contextmanager
def warehouse_lock(work_db: Path, holder: str, timeout_s: float, on_wait=None, run_id: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the work DB for a whole run (DuckDB allows one writer).

    The last line of defence behind the run queue: a scheduled run and a manual one that start
    together serialise here; the second waits (up to ``timeout_s``) and then refuses clearly.
    The lock file says who holds it as JSON (``lock_holder``): ``holder``, ``run_id``, ``pid``, ``since``;
    ``on_wait`` gets that record once, when the lock is found taken.
    """
    lock_path = lock_file(work_db)
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
                    on_wait(lock_holder(lock_path))
                waited = True
                if time.monotonic() > deadline:
                    raise WarehouseLockTimeout(
                        f"the warehouse work DB {work_db} is locked by {lock_holder(lock_path).get('holder') or 'another run'}; "
                        f"gave up after {timeout_s:.0f}s (DISCLOSURE_LOCK_TIMEOUT)"
                    ) from None
                time.sleep(0.5)
        record = {"holder": holder, "run_id": run_id, "pid": os.getpid(),
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_file(work_db: Path) -> Path:
    return Path(work_db).with_name(Path(work_db).name + ".lock")


def lock_holder(lock_path: Path) -> dict:
    """Who holds the warehouse lock, as its holder wrote it (``{}`` when nobody says; a plain-text lock file
    from an older version: ``{"holder": its text}``)."""
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return {}
    if not text:
        return {}
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    return record if isinstance(record, dict) else {"holder": text}


def setting(default, env: str, description: str, secret: bool = False, **limits):
    """A resource field read from the environment variable ``env`` (orchestration/settings.py builds the
    resources from the environment; ``secret``: passed as an ``EnvVar``, so the UI shows only its name)."""
    extra = {"env": env, "secret": True} if secret else {"env": env}
    return Field(default=default, description=f"{description} (env {env})", json_schema_extra=extra, **limits)


def _skip_env_var(value):
    """True for a deferred ``EnvVar`` (checked when the run launches and the resource is built with its value)."""
    return isinstance(value, EnvVar)


def _path_check(value, want: str):
    """A set path must not be the wrong kind of thing: a file where a folder is wanted, or the reverse.
    (That a named override file exists is checked at start-up only, settings.check_settings: the
    sensor watches for one that does not exist yet.)"""
    if not value or _skip_env_var(value):
        return value
    path = Path(value).expanduser()
    if want == "file" and path.is_dir():
        raise ValueError("is a folder, not a file")
    if want == "folder" and path.exists() and not path.is_dir():
        raise ValueError("is a file, not a folder")
    return value


def _duckdb_takes(statement: str, value, refusal: str):
    """``value`` when DuckDB runs ``statement`` with it (on a throwaway in-memory database), else ValueError(``refusal``)."""
    if value is None or _skip_env_var(value):
        return value
    conn = duckdb.connect()
    try:
        conn.execute(statement.format(str(value).replace("'", "")))
    except duckdb.Error:
        raise ValueError(refusal) from None
    finally:
        conn.close()
    return value


class WarehouseResource(ConfigurableResource):
    """Where the published warehouse, the work DB, Data Docs and Parquet exports live; how long a run waits
    for the warehouse; how much of a batch may be quarantined or fail before the batch gate refuses it.

    While a run executes, the resource holds the work DB lock, so warehouse writers never overlap.
    """

    warehouse: Optional[str] = setting(None, "DISCLOSURE_WAREHOUSE", "the published DuckDB file; default warehouse/disclosure.duckdb")
    work_db: Optional[str] = setting(None, "DISCLOSURE_WORK_DB", "the working DuckDB file; default work/ beside the published file")
    data_docs: Optional[str] = setting(None, "DISCLOSURE_DATA_DOCS", "GX Data Docs folder; default data_docs/ beside the published file")
    parquet_dir: Optional[str] = setting(None, "DISCLOSURE_PARQUET_DIR", "folder for a Parquet export of the marts; default none")
    corrections: Optional[str] = setting(None, "DISCLOSURE_CORRECTIONS", "maintainers' corrections CSV; default dbt_project/overrides/corrections.csv")
    waivers: Optional[str] = setting(None, "DISCLOSURE_WAIVERS", "maintainers' waivers CSV; default dbt_project/overrides/waivers.csv")
    agency_overrides: Optional[str] = setting(None, "DISCLOSURE_AGENCY_OVERRIDES", "maintainers' agency merges and splits CSV (read by dbt); default dbt_project/overrides/agency_identity.csv")
    storage_version: str = setting(DEFAULT_STORAGE_VERSION, "DISCLOSURE_STORAGE_VERSION", "DuckDB storage format of the published file (v1.0.0 opens in every DuckDB from 0.10 on: the 1.x CLI, DBeaver's and Metabase's JDBC driver); e.g. v1.4.0, latest")
    lock_timeout_s: float = setting(3600.0, "DISCLOSURE_LOCK_TIMEOUT", "seconds a run waits for another run holding the warehouse", ge=0)
    max_quarantine_share: float = setting(0.5, "DISCLOSURE_MAX_QUARANTINE_SHARE", "batch gate: largest share of quarantined documents")
    max_failed_share: float = setting(0.5, "DISCLOSURE_MAX_FAILED_SHARE", "batch gate: largest share of sources failed to fetch or parse")
    duckdb_memory: Optional[str] = setting(None, "DISCLOSURE_DUCKDB_MEMORY", "DuckDB's memory limit for dbt's builds, the GX gate and the publish (each spills to disk beyond it), e.g. 768MB, 2GB; default 768MB for dbt (dbt_project/profiles.yml), 1GB for the publish (warehouse/publish.py), 512MB for the gate (expectations/gate.py)")
    gate_chunk_rows: Optional[int] = setting(None, "DISCLOSURE_GATE_CHUNK_ROWS", "rule rows GX validates at once (the gate's memory grows with it); default 200000 (expectations/gate.py)", ge=1)

    @field_validator("warehouse", "work_db", "corrections", "waivers", "agency_overrides", mode="before")
    @classmethod
    def _a_file(cls, value):
        return _path_check(value, "file")

    @field_validator("data_docs", "parquet_dir", mode="before")
    @classmethod
    def _a_folder(cls, value):
        return _path_check(value, "folder")

    @field_validator("storage_version", mode="before")
    @classmethod
    def _a_storage_version(cls, value):
        return _duckdb_takes("attach ':memory:' as probe (storage_version '{}')", value,
                             "is not a DuckDB storage version (e.g. v1.0.0, v1.4.0, latest)")

    @field_validator("duckdb_memory", mode="before")
    @classmethod
    def _a_memory_limit(cls, value):
        return _duckdb_takes("set memory_limit = '{}'", value, "is not a DuckDB memory limit (e.g. 512MB, 2GB)")

    @field_validator("max_quarantine_share", "max_failed_share", mode="before")
    @classmethod
    def _a_share(cls, value):
        try:
            share = float(value)
        except (TypeError, ValueError):
            share = -1.0
        if isinstance(value, bool) or not 0 <= share <= 1:
            raise ValueError("is not a number between 0 and 1")
        return share

    def paths(self, published: str | None = None):
        """The warehouse helper's resolved paths (published, work_db, data_docs_dir, parquet_dir, dbt_project_dir,
        overrides); ``published`` replaces the configured published file (``disclosure refresh --warehouse``)."""
        from orchestration.warehouse.config import WarehousePaths

        return WarehousePaths.beside(published or self.warehouse, self.work_db, self.data_docs, self.parquet_dir,
                                     self.corrections, self.waivers, self.agency_overrides)

    @contextmanager
    def connect(self, read_only: bool = False, published: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the work DB (or the ``published`` file), closed on exit."""
        from orchestration.warehouse.db import connect

        paths = self.paths()
        with connect(paths.published if published else paths.work_db, read_only=read_only) as con:
            yield con

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[WarehouseResource]:
        work_db = Path(self.paths().work_db)
        run_id = context.run.run_id if context.run else None
        log = context.log

        def on_wait(holder: dict) -> None:
            if log is not None:
                log.info(f"waiting for the warehouse: {work_db} is in use by {holder.get('holder') or 'another run'}")
            lock_event(context, "waiting", {f"holder_{k}": v for k, v in holder.items()})

        with warehouse_lock(work_db, holder=f"run {run_id or 'outside a run'} (pid {os.getpid()})", run_id=run_id,
                            timeout_s=self.lock_timeout_s, on_wait=on_wait):
            lock_event(context, "acquired", {"run_id": run_id, "pid": os.getpid()})
            yield self
        lock_event(context, "released", {"run_id": run_id, "pid": os.getpid()})


LOCK_EVENT = "warehouse_lock"  # the metadata key of the run's lock events (waiting, acquired, released)


def lock_event(context: InitResourceContext, what: str, details: dict) -> None:
    """A structured event in the run's log (``warehouse_lock`` = ``what``, with ``details``): the refresh
    summary reads these, not log text. Outside a run (no instance), a log line only."""
    # Private, and kept: dagster exports no way to put metadata on a run's engine event (report_engine_event
    # takes only this class; context.log's messages carry no metadata), and the summary reads the metadata.
    from dagster._core.events import EngineEventData

    message = f"warehouse lock {what}" + (f" by run {details['run_id']}" if details.get("run_id") else "")
    if context.instance is None or context.run is None:
        if context.log is not None:
            context.log.info(message)
        return
    metadata = {LOCK_EVENT: what, **{k: str(v) for k, v in details.items() if v is not None}}
    context.instance.report_engine_event(message, context.run, EngineEventData(metadata=metadata))


class SourcesResource(ConfigurableResource):
    """The sources manifest (or a folder of documents) to refresh from."""

    sources: Optional[str] = setting(None, "DISCLOSURE_SOURCES", "a sources manifest (YAML) or a folder of documents; default the bundled sample corpus")

    @field_validator("sources", mode="before")
    @classmethod
    def _exists(cls, value):
        if value and not _skip_env_var(value) and not Path(value).expanduser().exists():  # its content: the manifest reader
            raise ValueError("does not exist")
        return value

    def location(self) -> Path:
        from orchestration.fetching.manifest import default_manifest_path

        return Path(self.sources).expanduser().resolve() if self.sources else default_manifest_path()

    def manifest(self, fetch: FetchResource | None = None):
        """The parsed manifest (local roots with the operator's fetch overrides); raises the fetcher's ManifestError on a malformed one."""
        from orchestration.fetching.manifest import manifest_for

        return manifest_for(self.location(), fetch.overrides() if fetch is not None else None)


def _fetch_fields() -> dict:
    from orchestration.fetching.config import ENV_PREFIX, FetchConfig

    kinds = {"bool": bool, "int": int, "float": float, "str": str}
    fields = {}
    for f in dataclass_fields(FetchConfig):
        limits = {} if f.type in ("bool", "str") else {"ge": 0}
        fields[f.name] = (Optional[kinds[f.type]], setting(None, ENV_PREFIX + f.name.upper(), f"fetch {f.name}, over the manifest's setting", **limits))
    return fields


class _FetchOverrides(ConfigurableResource):
    def overrides(self) -> dict:
        """The fields that are set: they win over the manifest's ``settings:`` (FetchConfig.resolve)."""
        return {name: value for name, value in self.__dict__.items() if name in type(self).model_fields and value is not None}


FetchResource = create_model(
    "FetchResource",
    __base__=_FetchOverrides,
    __doc__="The fetcher's settings as the operator's overrides: defaults, then the manifest's settings, then these.",
    __module__=__name__,
    **_fetch_fields(),
)


class ParseResource(ConfigurableResource):
    """The parse pool: how many worker processes, and each one's memory ceiling."""

    workers: Optional[int] = setting(None, "DISCLOSURE_PARSE_WORKERS", "parse processes; default the cores, at most 4", ge=0)
    worker_memory_mb: int = setting(2048, "DISCLOSURE_PARSE_WORKER_MEMORY_MB", "address-space ceiling of each parse worker (RLIMIT_AS); 0: none", ge=0)
    chunk: int = setting(500, "DISCLOSURE_PARSE_CHUNK", "parsed documents landed per transaction: the most a refresh holds at once", ge=1)
    sources_per_step: int = setting(1000, "DISCLOSURE_SOURCES_PER_STEP", "sources fetched and parsed per step of source_documents (steps run side by side off the in-process executor)", ge=1)

    def worker_count(self) -> int:
        return self.workers or min(4, os.cpu_count() or 1)

    def worker_memory_bytes(self) -> int | None:
        return self.worker_memory_mb * 1024 * 1024 if self.worker_memory_mb > 0 else None


CELERY_PICKUP_TIMEOUT_S = 600.0  # the default here and in the refresh executor's Launchpad config (jobs.py)


class ExecutionResource(ConfigurableResource):
    """Where the refresh job's steps run: in one process (default), in processes here, or on Celery workers.
    ``disclosure refresh`` turns these into the run's ``execution`` config (``run_config``)."""

    executor: Literal["in_process", "multiprocess", "celery"] = setting("in_process", "DISCLOSURE_EXECUTOR", "in_process (default: one process, the warehouse locked for the whole run), multiprocess or celery")
    max_concurrent: int = setting(0, "DISCLOSURE_MAX_CONCURRENT", "multiprocess: steps at once; 0: the cores", ge=0)
    celery_broker: Optional[str] = setting(None, "DISCLOSURE_CELERY_BROKER", "celery: the broker's URL, e.g. redis://127.0.0.1:6379/0 (the workers' too)")
    celery_backend: Optional[str] = setting(None, "DISCLOSURE_CELERY_BACKEND", "celery: the result backend's URL; default the broker's")
    celery_pickup_timeout_s: float = setting(CELERY_PICKUP_TIMEOUT_S, "DISCLOSURE_CELERY_PICKUP_TIMEOUT", "celery: seconds a run waits with steps queued and none on a worker, then fails naming the step and the queue", gt=0)

    @model_validator(mode="after")
    def _a_broker_for_celery(self):
        if self.executor == "celery" and not self.celery_broker:
            raise ValueError("DISCLOSURE_CELERY_BROKER: required (e.g. redis://127.0.0.1:6379/0) when DISCLOSURE_EXECUTOR=celery")
        return self

    def run_config(self) -> dict:
        """The run config's ``execution`` block (empty for the in-process default: the job's own)."""
        if self.executor == "multiprocess":
            return {"execution": {"config": {"multiprocess": {"max_concurrent": self.max_concurrent}}}}
        if self.executor == "celery":
            broker = self.celery_broker
            return {"execution": {"config": {"celery": {"broker": broker, "backend": self.celery_backend or broker,
                                                        "pickup_timeout": self.celery_pickup_timeout_s}}}}
        return {}


class AlertsResource(ConfigurableResource):
    """Sends alerts by e-mail and webhooks; the SMTP password and the webhooks (URLs with keys) are secrets."""

    smtp_host: Optional[str] = setting(None, "DISCLOSURE_SMTP_HOST", "SMTP server for e-mail alerts; none: no e-mail")
    smtp_port: Optional[int] = setting(None, "DISCLOSURE_SMTP_PORT", "SMTP port; default 587 with STARTTLS, else 25")
    smtp_user: Optional[str] = setting(None, "DISCLOSURE_SMTP_USER", "SMTP login")
    smtp_password: Optional[str] = setting(None, "DISCLOSURE_SMTP_PASSWORD", "SMTP password", secret=True)
    smtp_starttls: bool = setting(False, "DISCLOSURE_SMTP_STARTTLS", "use STARTTLS")
    alert_from: Optional[str] = setting(None, "DISCLOSURE_ALERT_FROM", "sender address; default disclosure-warehouse@localhost")
    alert_to: Optional[str] = setting(None, "DISCLOSURE_ALERT_TO", "comma-separated recipients (required with an SMTP host)")
    webhooks: Optional[str] = setting(None, "DISCLOSURE_WEBHOOKS", "comma-separated format=url, format generic|wecom|dingtalk|feishu|slack; a signed robot's secret as #secret=…", secret=True)
    dagster_url: Optional[str] = setting(None, "DISCLOSURE_DAGSTER_URL", "the UI's address for links in alerts, e.g. http://127.0.0.1:3000")
    language: Literal["zh", "en"] = setting("zh", "DISCLOSURE_ALERT_LANGUAGE", "language of the alerts: zh (default) or en")

    @field_validator("smtp_port", mode="before")
    @classmethod
    def _a_port(cls, value):
        if value is None or _skip_env_var(value):
            return value
        if not str(value).strip().isdigit() or not 1 <= int(value) <= 65535:
            raise ValueError("is not a port number")
        return int(value)

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhooks(cls, value):
        if value and not _skip_env_var(value):
            from orchestration.alert_channels import parse_webhooks

            parse_webhooks(value)
        return value

    @field_validator("dagster_url", mode="before")
    @classmethod
    def _an_http_url(cls, value):
        if value and not _skip_env_var(value) and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
            raise ValueError("is not an http(s)://host URL")
        return value

    @model_validator(mode="after")
    def _recipients_with_a_host(self):
        if self.smtp_host and not self.alert_to:
            raise ValueError("DISCLOSURE_ALERT_TO: required (comma-separated addresses) when DISCLOSURE_SMTP_HOST is set")
        return self

    def config(self):
        """The channels as the alerts module takes them (orchestration.alert_channels.AlertConfig)."""
        from orchestration.alert_channels import AlertConfig, parse_webhooks

        return AlertConfig(
            smtp_host=self.smtp_host or None,
            smtp_port=self.smtp_port or (587 if self.smtp_starttls else 25),
            smtp_user=self.smtp_user or None,
            smtp_password=self.smtp_password or None,
            smtp_starttls=self.smtp_starttls,
            alert_from=self.alert_from or AlertConfig.alert_from,
            alert_to=tuple(a.strip() for a in (self.alert_to or "").split(",") if a.strip()),
            webhooks=parse_webhooks(self.webhooks or ""),
        )

    def run_link(self, run_id: str) -> str:
        """Where a person sees the run: the UI's run page when its address is known, else the run id."""
        base = (self.dagster_url or "").rstrip("/")
        return f"{base}/runs/{run_id}" if base else run_id

    def send(self, alert, log=None) -> list:
        """Send ``alert`` (orchestration.alerts.Alert) on every channel; log each delivery; never raise for a channel."""
        from orchestration.alert_channels import send_alert

        config = self.config()
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


def dbt_executable() -> str:
    """The ``dbt`` installed beside the running interpreter (this environment's), else ``dbt`` on PATH.

    A command run by absolute path with a bare PATH (cron, systemd: ``.venv/bin/disclosure``) has no
    ``.venv/bin`` on PATH; dagster-dbt looks only there, so the environment's own bin folder is put
    in front of PATH too (dagster-dbt's manifest preparer builds its own resource with the default)."""
    bin_dir = Path(sys.executable).parent
    own = bin_dir / "dbt"
    if not os.access(own, os.X_OK):
        return "dbt"
    path = os.environ.get("PATH", "").split(os.pathsep)
    if str(bin_dir) not in path:
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), *filter(None, path)])
    return str(own)


def dbt_project() -> DbtProject:
    """The dbt project, with its manifest generated (``dbt parse``) when missing or older than its sources;
    parsed by ``disclosure-dbt`` (when installed), so a warehouse's first build reuses this parse (dbt_process.py)."""
    dbt_executable()
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    if _manifest_stale(project):  # parsing needs no database (profiles.yml has a default path)
        dbt_resource(project).cli(["parse", "--quiet"], target_path=Path(project.target_path)).wait()
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


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's resource without two start-up costs of each step's first ``dbt`` command (issue #11):
    a ``dbt --version`` process (the version is this environment's dbt-core) and an in-process dbt adapter,
    which only its ``fetch_row_counts()`` / ``fetch_column_metadata()`` use (not ours: dbt_metadata.py).
    dbt runs as ``disclosure-dbt`` (orchestration/dbt_process.py), which dies with the process that started
    it, so a killed refresh leaves no dbt holding the work DB."""

    def cli(self, args, *, docs_after_build: bool = False, **kwargs):
        """dagster-dbt's, telling ``disclosure-dbt`` its parent and whether to write the docs page after a build."""
        from orchestration.dbt_process import DOCS_AFTER_BUILD_ENV, PARENT_PID_ENV
        from orchestration.warehouse.db import return_freed_memory

        # dbt's DuckDB takes up to its memory limit beside this process; what the steps before freed is returned
        # (no garbage collection of this whole process: 60 % of a dbt step's own CPU, more than dbt's events)
        return_freed_memory(collect=False)
        handshake = {PARENT_PID_ENV: str(os.getpid()), DOCS_AFTER_BUILD_ENV: "1" if docs_after_build else None}
        before = {name: os.environ.get(name) for name in handshake}
        _set_environ(handshake)  # dagster-dbt passes the environment as it is to dbt
        try:
            return super().cli(args, **kwargs)
        finally:
            _set_environ(before)

    @cached_property
    def _cli_version(self):
        from importlib.metadata import version as installed
        from packaging.version import parse

        return parse(installed("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def _set_environ(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def dbt_resource(project: DbtProject) -> DbtCliResource:
    dbt = dbt_executable()
    launcher = Path(dbt).with_name("disclosure-dbt")  # this project's console script beside dbt's
    return WarehouseDbtCli(project_dir=project, dbt_executable=str(launcher) if os.access(launcher, os.X_OK) else dbt)
