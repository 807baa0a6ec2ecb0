"""``disclosure refresh``: the whole pipeline, run through Dagster so every run shows in the UI's history.

DAGSTER_HOME defaults to ``<repo>/.dagster_home`` (created on demand with the instance settings of
``orchestration/dagster_home/dagster.yaml``). Exit codes: 0 published (quarantined reports are a
normal outcome), 1 the run failed or the batch gate refused to publish (the reason is the last line on
stderr), 2 a setting or the sources were refused (no run is started).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from orchestration import REPO

DEFAULT_DAGSTER_HOME = REPO / ".dagster_home"
INSTANCE_TEMPLATE = Path(__file__).resolve().parent / "dagster_home" / "dagster.yaml"
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def ensure_dagster_home() -> Path:
    """The Dagster instance folder (env DAGSTER_HOME, else <repo>/.dagster_home), with its dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def refresh_instance(home: Path):
    """The Dagster instance at ``home`` for this command's runs, its default console logger at INFO unless
    dagster.yaml sets ``python_logs: python_log_level``. Off the in-process executor each step's process (a
    subprocess, a Celery worker's task) logs its start with that logger, before the run's own loggers take
    over: at Dagster's default, DEBUG, that is a line per step on the terminal that in-process runs never print.
    The steps' processes get the instance from this one's ref, so they log at that level too.
    Its event log writes a batch of events (a run's ~50 planned events) in one transaction
    (``orchestration.event_log``), unless dagster.yaml configures a storage."""
    import yaml
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef  # the public constructors take no settings over dagster.yaml's

    from orchestration.event_log import EVENT_BATCH_SIZE, batched_event_log

    settings = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8")) or {}
    python_logs = {"python_log_level": "INFO", **(settings.get("python_logs") or {})}
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)  # Dagster's own switch for batched writes
    overrides = {"python_logs": python_logs, **batched_event_log(str(home), settings)}
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def refresh_job_def():
    """The refresh job, rebuilt from the code location (what ``reconstructable`` needs)."""
    from orchestration.definitions import defs

    return defs.resolve_job_def("refresh")


def refresh_run_config(configured: dict, sources: Path, warehouse: Path, full: bool, progress: bool = True) -> dict[str, Any]:
    """The run's config: --sources and --warehouse over the ``configured`` resources. Dagster takes a
    resource's run config whole (a field left out falls back to its class default, not to the configured
    value), so each overridden resource carries all its configured fields."""

    def over(key: str, **values: str) -> dict[str, Any]:
        fields = {k: v for k, v in configured[key].model_dump().items() if v is not None}
        return {"config": {**fields, **values}}

    config: dict[str, Any] = {
        "ops": {"source_documents": {"config": {"full": full}}},
        "resources": {"sources": over("sources", sources=str(sources)), "warehouse": over("warehouse", warehouse=str(warehouse))},
    }
    if progress:
        config["loggers"] = {"progress": {}}
    if "execution" in configured:
        config.update(configured["execution"].run_config())  # off the in-process default: DISCLOSURE_EXECUTOR
    return config


def run_refresh(sources: str | None, warehouse: str | None, full: bool) -> int:
    """Fetch, parse, land, build, gate and publish; print progress and a summary; return the exit code."""
    from orchestration.fetching.manifest import ManifestError, drop_handed_over, manifest_for
    from orchestration.settings import check_settings, resources_from_env, unknown_settings

    for name in unknown_settings():
        print(f"disclosure refresh: warning: {name} is not a setting this project reads; ignored", file=sys.stderr)
    problems = check_settings()
    if problems:
        for problem in problems:
            print(f"disclosure refresh: setting refused: {problem}", file=sys.stderr)
        return EXIT_REFUSED
    configured = resources_from_env()  # the same resources the run gets (checked just above)
    # --sources, env DISCLOSURE_SOURCES, or bundled
    location = Path(sources).expanduser().resolve() if sources else configured["sources"].location()
    # checked and counted; handed over to the run's plan when it runs in this process (else not kept: 100k sources
    # held here all run are ~60 MB), so a folder is listed once
    in_process = "execution" not in configured or not configured["execution"].run_config()
    try:
        sources_count = len(manifest_for(location, configured["fetch"].overrides(), hand_over=in_process).sources)
    except ManifestError as exc:
        print(f"disclosure refresh: sources refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    paths = configured["warehouse"].paths(warehouse)
    home = ensure_dagster_home()
    mode = "full" if full else "incremental"
    print(f"refresh ({mode}): {sources_count} sources from {location}", flush=True)
    print(f"  warehouse {paths.published}; Dagster home {home}", flush=True)

    from dagster import execute_job, reconstructable

    from orchestration.resources import ALERTED_BY_TAG

    # Skipped blocking dbt tests (nothing changed) are expected here, not worth a warning per test.
    logging.getLogger("dagster._core.execution.plan.active").setLevel(logging.ERROR)

    tool_log = paths.published.parent / "logs" / f"refresh-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    tool_log.parent.mkdir(parents=True, exist_ok=True)
    print(f"loading Dagster definitions (dbt manifest, assets)...; dbt's own output goes to {tool_log}", flush=True)
    log = ToolLog(tool_log.open("wb"), encoding="utf-8")
    with refresh_instance(home) as instance, log, redirect_stdout(log):
        result = execute_job(
            reconstructable(refresh_job_def),
            instance=instance,
            run_config=refresh_run_config(configured, location, paths.published, full),
            raise_on_error=False,
            tags={ALERTED_BY_TAG: "disclosure refresh"},
        )
        drop_handed_over()  # (taken by the plan, unless the run stopped before it)
        summary = run_summary(instance, result.run_id)
    print_summary(summary, paths, success=result.success, ui=configured["alerts"].run_link(result.run_id))
    print(f"  tool log    {tool_log}" + (f" (incomplete: {type(log.error).__name__}: {log.error})" if log.error else ""))
    if result.success:
        return EXIT_OK
    alert_failed_run(summary)
    print(f"disclosure refresh: failed: {failure_reason(summary)}", file=sys.stderr, flush=True)
    return EXIT_FAILED


def failure_reason(summary: dict[str, Any]) -> str:
    """One line for the exit: the batch gate's refusal, else the failures, else where to look."""
    batch = summary["checks"].get("batch_gate_allows_publish", {})
    if batch and not batch.get("passed", True):
        return f"the batch gate refused to publish: {batch.get('reason', '')}"
    return "; ".join(summary["failures"]) or f"see run {summary['run_id']} in the Dagster UI"


class ToolLog(io.TextIOWrapper):
    """The tool log (dbt's console output): a write that fails, e.g. on a full disk, ends the log, not
    the refresh, so the summary, the alert and the exit status still say what happened."""

    error: OSError | None = None

    def write(self, text: str) -> int:
        if self.error is None:
            try:
                return super().write(text)
            except OSError as exc:
                self.error = exc
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                super().flush()
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        try:
            super().close()
        except OSError as exc:
            self.error = self.error or exc


def alert_failed_run(summary: dict[str, Any]) -> None:
    """Alert a failed run of this command, always and once: its runs carry ``ALERTED_BY_TAG``, which the
    run-failure sensor skips (and it would not see them anyway: a run launched here has no code-location origin)."""
    from orchestration.alerts import run_failure_alert
    from orchestration.settings import resources_from_env

    alerts = resources_from_env()["alerts"]
    run_id = summary["run_id"]
    alert = run_failure_alert("refresh", run_id, "", summary["failures"], alerts.run_link(run_id), alerts.language)
    say = lambda message: print(f"  {message}", flush=True)  # noqa: E731 - the log interface send() expects
    alerts.send(alert, log=SimpleNamespace(info=say, warning=say))


def run_summary(instance, run_id: str) -> dict[str, Any]:
    """What a run did, from its own events: per-asset materialization metadata, check results, failures."""
    from dagster import DagsterEventType

    from orchestration.failures import describe_error

    assets: dict[str, dict[str, Any]] = {}
    checks: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    lock_events: list[tuple[float, str, str]] = []  # (timestamp, acquired|released, holding run): runs taking turns
    lock_wait: dict[str, str] = {}  # whom the run waited for (the lock file's record), when it had to
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        what, lock = _lock_event(event)
        if what:
            if what == "waiting":
                lock_wait = {k.removeprefix("holder_"): v for k, v in lock.items()}
            else:
                lock_events.append((entry.timestamp, what, lock.get("run_id", "")))
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.step_materialization_data.materialization
            assets.setdefault(mat.asset_key.to_user_string(), {}).update({k: _plain(v) for k, v in mat.metadata.items()})
        elif event.event_type == DagsterEventType.ASSET_OBSERVATION:  # e.g. raw_landing when nothing changed
            obs = event.asset_observation_data.asset_observation
            assets.setdefault(obs.asset_key.to_user_string(), {}).update({k: _plain(v) for k, v in obs.metadata.items()})
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            checks[data.check_name] = {"passed": data.passed, **{k: _plain(v) for k, v in data.metadata.items()}}
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            failures.append(f"{event.step_key}: {describe_error(event.step_failure_data.error)}")
        elif event.event_type in (DagsterEventType.RUN_FAILURE, DagsterEventType.RESOURCE_INIT_FAILURE, DagsterEventType.ENGINE_EVENT):
            error = getattr(event.event_specific_data, "error", None)
            reason = describe_error(error) if error is not None else ""
            if reason and not any(f.endswith(reason) for f in failures):  # not already told by its step
                failures.append(reason)  # e.g. the warehouse lock timed out while resources were set up
    return {"run_id": run_id, "assets": assets, "checks": checks, "failures": failures, "lock_events": lock_events,
            "lock_wait": lock_wait}


def _lock_event(event) -> tuple[str | None, dict[str, str]]:
    """(waiting|acquired|released, its details) of a warehouse lock event (orchestration.resources.lock_event),
    else (None, {})."""
    from dagster import DagsterEventType

    from orchestration.resources import LOCK_EVENT

    if event.event_type != DagsterEventType.ENGINE_EVENT:
        return None, {}
    metadata = {k: str(_plain(v)) for k, v in (getattr(event.event_specific_data, "metadata", None) or {}).items()}
    return metadata.pop(LOCK_EVENT, None), metadata


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


STATUSES = ("passed", "quarantined", "not_applicable", "retired")


SUMMARY_OVERRIDES = 5  # override warnings named in the summary; the rest are counted (one screen at any scale)


def print_summary(summary: dict[str, Any], paths, success: bool, ui: str = "") -> None:
    """The run in a screenful, whatever the number of reports: counts, never one line per report."""
    fetch = summary["assets"].get("source_documents", {})
    parse = summary["assets"].get("raw_landing", {})
    gate = summary["assets"].get("quality_gate", {})
    verdicts = summary["checks"].get("hard_rules_hold", {}).get("verdicts") or {}
    batch = summary["checks"].get("batch_gate_allows_publish", {})
    lines = ["", f"summary of run {summary['run_id']}:"]
    if summary.get("lock_wait"):
        holder = summary["lock_wait"]
        lines.append(f"  waited      for the warehouse, held by {holder.get('holder') or 'another run'}"
                     + (f" since {holder['since']}" if holder.get("since") else ""))
    if fetch:
        lines.append(
            f"  documents   {fetch.get('sources', 0)} sources: fetched {fetch.get('fetched', 0)}, "
            f"unchanged {fetch.get('unchanged', 0)}, failed {fetch.get('failed', 0)}, "
            f"retired {parse.get('retired', 0)} (left the manifest)"
        )
    if parse:
        lines.append(
            f"  parsed      {parse.get('parsed', 0)} (already parsed: {parse.get('skipped_already_parsed', 0)}, "
            f"parse errors: {parse.get('parse_errors', 0)}; parser {parse.get('parser_version', '?')})"
        )
    if verdicts:
        lines += verdict_lines(verdicts)
    if gate:
        if gate.get("override_warnings"):
            lines.append(f"  overrides   {len(gate['override_warnings'])} take no effect (quality.override_warnings):")
            warnings = gate["override_warnings"]
            lines += [f"  override    {warning}" for warning in warnings[:SUMMARY_OVERRIDES]]
            if len(warnings) > SUMMARY_OVERRIDES:
                lines.append(f"  override    … and {len(warnings) - SUMMARY_OVERRIDES} more (quality.override_warnings)")
        lines.append(f"  data docs   {gate.get('data_docs') or paths.data_docs_dir}")
    if verdicts.get("by_rule"):
        where = paths.published if success else paths.work_db
        lines.append(f"  look at     quality.quarantine in {where} (agency, year, source, rule, instance, lhs, rhs); "
                     f"the Dagster UI, run {ui or summary['run_id']} (`dagster dev`), check hard_rules_hold")
    if success and parse.get("unchanged"):
        lines.append(f"  unchanged   nothing changed since the last publish; {paths.published} is current")
    elif success:
        lines.append(f"  published   {paths.published}")
    else:
        if batch and not batch.get("passed", True):
            lines.append(f"  NOT published: the batch gate refused: {batch.get('reason', '')}")
        else:
            lines.append("  NOT published: the run failed")
        lines += [f"  failure     {f}" for f in summary["failures"]]
    print("\n".join(lines), flush=True)


def verdict_lines(verdicts: dict[str, Any]) -> list[str]:
    """Reports per gate status, per input format, failures per rule, the most frequent failures
    (``orchestration.verdicts.status_summary``, read from dbt's marts.dim_report by the hard-rules check)."""
    def counts(by_status: dict[str, int]) -> str:
        known = [s for s in STATUSES if s in by_status] + sorted(set(by_status) - set(STATUSES))
        return ", ".join(f"{s.replace('_', ' ')} {by_status[s]}" for s in known) or "none"

    lines = [f"  gate        {counts(verdicts.get('by_status', {}))}"]
    for fmt, by_status in verdicts.get("by_format", {}).items():
        lines.append(f"  format      {fmt}: {counts(by_status)}")
    for rule, n in verdicts.get("by_rule", {}).items():
        lines.append(f"  rule        {rule}: {n['reports']} report(s), {n['instances']} failed instance(s)")
    top = verdicts.get("top_failures") or []
    if top:
        lines.append(f"  most frequent failures ({len(top)}):")
        lines += [f"    {t['reports']:>6} report(s)  {t['failure']}" for t in top]
    return lines
