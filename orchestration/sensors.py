"""Sensors: a new or changed sources manifest (or maintainers' override) starts a refresh; a failed
run sends an alert.

Quality alerts do not come from here: a failed asset check leaves its run successful, so they are
sent by the checks themselves (orchestration/checks.py).
"""


import hashlib
from collections.abc import Iterable
from pathlib import Path

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from orchestration.jobs import refresh_job
from orchestration.resources import ALERTED_BY_TAG, AlertsResource, FetchResource, SourcesResource


def sources_fingerprint(manifest, overrides: Iterable[Path] = ()) -> str:
    """A digest of the manifest's bytes, of the local documents it names (path, size, mtime) and of
    the ``overrides`` files (corrections, waivers: an edit changes what gets published).

    Remote sources are not probed here (the refresh's conditional requests do that).
    """
    digest = hashlib.sha256()
    if manifest.path is not None:
        digest.update(Path(manifest.path).read_bytes())
    for spec in manifest.sources:
        digest.update(f"{spec.kind}\0{spec.location}\0".encode())
        if spec.kind == "file":
            stat = Path(spec.location).stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    for path in overrides:
        digest.update(f"override\0{path}\0".encode())
        digest.update(path.read_bytes() if path.exists() else b"\0missing")
    return digest.hexdigest()


@sensor(
    name="sources_manifest_changed",
    job=refresh_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts an (incremental) refresh when the sources manifest, the folder of documents, or the "
    "maintainers' overrides (corrections, waivers) are new or changed.",
)
def sources_manifest_changed(context: SensorEvaluationContext, sources: SourcesResource, fetch: FetchResource):
    from orchestration.settings import resources_from_env

    location = sources.location()
    if not location.exists():
        return SkipReason(f"sources {location} do not exist")
    # the paths from a WarehouseResource built from the environment: the run's resource itself
    # would take the warehouse lock and so wait for a running refresh
    # (a malformed manifest raises the fetcher's ManifestError, which shows as a failed sensor tick)
    fingerprint = sources_fingerprint(sources.manifest(fetch), resources_from_env()["warehouse"].paths().override_files)
    if fingerprint == context.cursor:
        return SkipReason(f"sources {location} and overrides unchanged")
    context.update_cursor(fingerprint)
    return RunRequest(run_key=f"sources-{fingerprint[:16]}", tags={"disclosure/trigger": "sources_changed"})


@run_failure_sensor(
    name="run_failure_alert",
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends an alert (SMTP / webhook) when a run launched from the UI, a schedule or a sensor fails "
    "(`disclosure refresh` alerts its own runs).",
)
def run_failure_alert(context: RunFailureSensorContext, alerts: AlertsResource) -> None:
    from orchestration.alerts import run_failure_alert as failure_alert
    from orchestration.failures import describe_error
    from orchestration.redaction import redact

    run = context.dagster_run
    if run.tags.get(ALERTED_BY_TAG):  # `disclosure refresh` alerts its own runs: one alert per failure
        context.log.info(f"run {run.run_id} is alerted by {run.tags[ALERTED_BY_TAG]}")
        return
    steps = [f"{e.step_key}: {describe_error(e.step_failure_data.error)}" for e in context.get_step_failure_events()]
    run_error = getattr(context.failure_event.event_specific_data, "error", None)
    if run_error is not None and not steps:  # e.g. a resource failed to start: no step ran
        steps = [describe_error(run_error)]
    reason = redact(context.failure_event.message or "the run failed")
    alerts.send(failure_alert(run.job_name, run.run_id, reason, steps, alerts.run_link(run.run_id), alerts.language), log=context.log)
