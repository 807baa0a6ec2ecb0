"""The Dagster code location loads from workspace.yaml and has the asset graph the pipeline needs."""

import importlib
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def defs():
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    target = workspace["load_from"][0]["python_module"]
    assert (REPO / target["working_directory"]).resolve() == REPO
    return importlib.import_module(target["module_name"]).defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def _models(graph, schema: str) -> list[AssetKey]:
    return [k for k in graph.get_all_asset_keys() if k.path[0] == schema]


def test_pipeline_assets_in_order(graph):
    keys = graph.get_all_asset_keys()
    for name in ("source_documents", "raw_landing", "quality_gate", "published_warehouse"):
        assert AssetKey(name) in keys
    assert AssetKey("source_documents") in graph.get(AssetKey("raw_landing")).parent_keys
    staging = _models(graph, "staging")
    assert staging, "dbt staging models are assets"
    for key in staging:
        assert AssetKey("raw_landing") in graph.get_ancestor_asset_keys(key)


def test_gate_splits_dbt_into_pre_and_post_gate(graph):
    gate = AssetKey("quality_gate")
    before = graph.get_ancestor_asset_keys(gate)
    assert any(k.path[0] == "staging" for k in before)
    marts = _models(graph, "marts")
    assert marts, "dbt marts are assets"
    for name in ("dim_report", "fct_metric"):  # the marts that read the gate's verdicts
        key = AssetKey(["marts", name])
        assert gate in graph.get_ancestor_asset_keys(key), f"{key} must wait for the quality gate"
    for key in marts:
        assert key not in before, f"{key} is post-gate"
    publish_parents = graph.get(AssetKey("published_warehouse")).parent_keys
    assert gate in publish_parents
    assert set(marts) <= set(publish_parents)


def test_gate_checks(defs, graph):
    checks = {spec.key.name: spec for spec in _check_specs(defs)}
    assert {"hard_rules_hold", "soft_rules_hold", "batch_gate_allows_publish"} <= set(checks)
    for name in ("hard_rules_hold", "soft_rules_hold"):
        assert checks[name].asset_key == AssetKey("quality_gate")
        assert not checks[name].blocking, "a quarantined report is a normal outcome, not a stop"
    batch = checks["batch_gate_allows_publish"]
    assert batch.blocking
    assert batch.asset_key in graph.get(AssetKey("published_warehouse")).parent_keys


def test_dbt_data_tests_are_no_asset_checks_and_dbt_starts_without_a_version_process(defs, monkeypatch):
    """Issue #11: each asset check costs run events on every run; dbt's tests run inside the build (a failing
    one fails it). The dbt resource knows its version without spawning ``dbt --version``."""
    import subprocess

    assert {spec.key.name for spec in _check_specs(defs)} == {"hard_rules_hold", "soft_rules_hold",
                                                             "batch_gate_allows_publish"}
    from orchestration.resources import dbt_project, dbt_resource

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "check_output", no_process)
    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_process, raising=False)
    resource = dbt_resource(dbt_project())
    assert resource._cli_version.major == 1
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_starting_dbt_collects_no_garbage_of_the_whole_refresh_process(tmp_path):
    """Issue #11: a full garbage collection before each dbt command took 60 % of a dbt step's own CPU (every object
    the refresh process holds); what the steps before freed is still given back (malloc_trim)."""
    import gc

    from orchestration.resources import dbt_project, dbt_resource

    full_collections = []

    def noted(phase, info):
        if phase == "start" and info["generation"] == 2:
            full_collections.append(info)

    resource = dbt_resource(dbt_project())
    gc.disable()  # no automatic collection meanwhile: only one asked for is seen
    gc.callbacks.append(noted)
    try:
        invocation = resource.cli(["parse", "--quiet"], target_path=tmp_path)
    finally:
        gc.callbacks.remove(noted)
        gc.enable()
    invocation.wait()
    assert full_collections == []


def _check_specs(defs):
    return [spec for checks_def in defs.asset_checks for spec in checks_def.check_specs]


def test_job_schedule_and_sensors(defs, monkeypatch):
    job = defs.resolve_job_def("refresh")
    assert job.tags.get("disclosure/writes-warehouse") == "true"
    assert job.executor_def.name == "refresh_executor"  # in one process unless the run config says otherwise
    assert job.executor_def.config_schema.as_field().default_value == {"in_process": {}}
    ui_job = defs.resolve_implicit_global_asset_job_def()  # the UI's "Materialize all"
    assert ui_job.executor_def.name == "in_process", "one process per run: the warehouse lock is held run-long"
    schedule = defs.resolve_schedule_def("weekly_refresh")
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.cron_schedule == "0 3 * * 1"
    assert schedule.job_name == "refresh"
    assert {s.name for s in defs.sensors} >= {"sources_manifest_changed", "run_failure_alert"}

    from orchestration.schedules import refresh_schedule
    from orchestration.settings import refresh_cron

    monkeypatch.setenv("DISCLOSURE_REFRESH_CRON", "30 1 * * *")
    assert refresh_schedule(refresh_cron()).cron_schedule == "30 1 * * *"


def test_dbt_resource_and_manifest(defs):
    from orchestration.assets import DBT_PROJECT

    assert Path(DBT_PROJECT.manifest_path).is_file()
    assert set(defs.resources) >= {"warehouse", "sources", "alerts", "dbt"}


def test_instance_template_queues_warehouse_writers_one_at_a_time(tmp_path):
    """The dagster.yaml that refresh copies into DAGSTER_HOME: a run queue letting one writer run at a time."""
    import shutil

    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator

    from orchestration.refresh import INSTANCE_TEMPLATE
    from orchestration.resources import WRITER_TAG

    shutil.copyfile(INSTANCE_TEMPLATE, tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": WRITER_TAG, "limit": 1} in [dict(limit) for limit in limits]


def test_sources_sensor_requests_a_refresh_when_sources_change(tmp_path):
    from dagster import RunRequest, SkipReason, build_sensor_context

    from orchestration.resources import FetchResource, SourcesResource
    from orchestration.sensors import sources_manifest_changed

    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.txt").write_text("一、总体情况", encoding="utf-8")
    manifest = tmp_path / "sources.yml"
    manifest.write_text("sources:\n  - path: documents/\n", encoding="utf-8")
    resources = {"sources": SourcesResource(sources=str(manifest)), "fetch": FetchResource()}

    def tick(cursor):
        context = build_sensor_context(cursor=cursor, resources=resources)
        return sources_manifest_changed(context), context.cursor

    first, cursor = tick(None)
    assert isinstance(first, RunRequest), "a new manifest starts a refresh"
    again, same = tick(cursor)
    assert isinstance(again, SkipReason) and same == cursor
    (docs / "b.txt").write_text("another report", encoding="utf-8")
    added, cursor2 = tick(cursor)
    assert isinstance(added, RunRequest) and added.run_key != first.run_key, "a new document starts a refresh"
    manifest.write_text("sources:\n  - path: documents/\n    agency: 某区人民政府办公室\n", encoding="utf-8")
    edited, _ = tick(cursor2)
    assert isinstance(edited, RunRequest), "an edited manifest starts a refresh"


def test_sources_sensor_requests_a_refresh_when_overrides_change(tmp_path, monkeypatch):
    """An edited correction or waiver changes what gets published, so it starts a refresh too."""
    import shutil

    from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

    from orchestration.refresh import INSTANCE_TEMPLATE
    from orchestration.resources import FetchResource, SourcesResource
    from orchestration.sensors import sources_manifest_changed

    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.txt").write_text("一、总体情况", encoding="utf-8")
    corrections, waivers = tmp_path / "corrections.csv", tmp_path / "waivers.csv"
    waivers.write_text("report_id,rule,reason\n", encoding="utf-8")  # corrections.csv does not exist yet
    monkeypatch.setenv("DISCLOSURE_CORRECTIONS", str(corrections))
    monkeypatch.setenv("DISCLOSURE_WAIVERS", str(waivers))
    resources = {"sources": SourcesResource(sources=str(docs)), "fetch": FetchResource()}
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")

    with DagsterInstance.from_config(str(home)) as instance:
        def tick(cursor):
            context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
            return sources_manifest_changed(context), context.cursor

        first, cursor = tick(None)
        assert isinstance(first, RunRequest)
        unchanged, same = tick(cursor)
        assert isinstance(unchanged, SkipReason) and same == cursor
        waivers.write_text("report_id,rule,reason\nabc,R1_balance,checked by hand\n", encoding="utf-8")
        waived, cursor2 = tick(cursor)
        assert isinstance(waived, RunRequest) and waived.run_key != first.run_key, "an edited waiver starts a refresh"
        corrections.write_text("report_id,metric_key,value,reason\n", encoding="utf-8")
        corrected, cursor3 = tick(cursor2)
        assert isinstance(corrected, RunRequest), "a new corrections file starts a refresh"
        corrections.unlink()
        removed, _ = tick(cursor3)
        assert isinstance(removed, RunRequest), "a removed corrections file starts a refresh"


def test_dbt_runs_only_as_the_dagster_dbt_assets():
    """One pipeline order (issue #13): no second dbt runner (dbtRunner, dbt-duckdb internals) beside the dbt assets.
    (``disclosure-dbt``, orchestration/dbt_process.py, is the dbt process those assets start: it runs dbt's commands.)"""
    code = [*(REPO / "orchestration").rglob("*.py"), *(REPO / "expectations").rglob("*.py"), *(REPO / "tests").rglob("*.py")]
    launcher = REPO / "orchestration" / "dbt_process.py"
    offenders = [str(p.relative_to(REPO)) for p in code if p.name != "test_definitions.py" and p != launcher
                 and any(word in p.read_text(encoding="utf-8") for word in ("dbtRunner", "DuckDBConnectionManager"))]
    assert offenders == []


SECRET_ENV = {
    "DISCLOSURE_LOCK_TIMEOUT": "90",
    "DISCLOSURE_SMTP_HOST": "127.0.0.1",
    "DISCLOSURE_ALERT_TO": "oncall@example.org",
    "DISCLOSURE_SMTP_PASSWORD": "pa55-SECRET",
    "DISCLOSURE_WEBHOOKS": "generic=http://127.0.0.1:9/hook?key=KEY-SECRET-0123456789",
}


def test_the_settings_are_resources_in_the_definitions(defs):
    assert {"sources", "warehouse", "fetch", "parse", "alerts", "dbt"} <= set(defs.resources)


def test_resources_show_their_settings_and_mask_secrets(monkeypatch):
    """The UI lists every setting of a resource with its value; a secret shows as its variable, never its value."""
    from dagster import Definitions
    from dagster._core.remote_representation.external_data import RepositorySnap, ResourceConfigEnvVarSnap
    from dagster._serdes import serialize_value

    from orchestration.settings import resources_from_env

    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    snap = RepositorySnap.from_def(Definitions(resources=resources_from_env(secrets_as_env_vars=True)).get_repository_def())
    shown = {r.name: r for r in snap.resources}
    assert {f.name for f in shown["warehouse"].config_field_snaps} >= {
        "warehouse", "work_db", "data_docs", "parquet_dir", "corrections", "waivers",
        "lock_timeout_s", "max_quarantine_share", "max_failed_share", "storage_version"}
    assert {f.name for f in shown["parse"].config_field_snaps} == {"workers", "worker_memory_mb", "chunk", "sources_per_step"}
    assert {f.name for f in shown["execution"].config_field_snaps} == {"executor", "max_concurrent", "celery_broker", "celery_backend", "celery_pickup_timeout_s"}
    assert {"timeout_seconds", "max_bytes", "respect_robots", "allowed_roots"} <= {f.name for f in shown["fetch"].config_field_snaps}
    assert shown["warehouse"].configured_values["lock_timeout_s"] == "90.0"
    alerts = shown["alerts"].configured_values
    assert alerts["smtp_host"] == '"127.0.0.1"'
    assert alerts["smtp_password"] == ResourceConfigEnvVarSnap(name="DISCLOSURE_SMTP_PASSWORD")
    assert alerts["webhooks"] == ResourceConfigEnvVarSnap(name="DISCLOSURE_WEBHOOKS")
    assert "pa55-SECRET" not in serialize_value(snap) and "KEY-SECRET" not in serialize_value(snap)


def test_a_secret_resolves_when_the_run_launches(monkeypatch):
    from dagster import asset, materialize

    from orchestration.resources import AlertsResource
    from orchestration.settings import resources_from_env

    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    alerts = resources_from_env(secrets_as_env_vars=True)["alerts"]
    seen = {}

    @asset
    def reads_the_password(alerts: AlertsResource) -> None:
        seen["password"] = alerts.config().smtp_password

    monkeypatch.setenv("DISCLOSURE_SMTP_PASSWORD", "rotated-SECRET")  # read at launch, not when the code loaded
    assert materialize([reads_the_password], resources={"alerts": alerts}).success
    assert seen["password"] == "rotated-SECRET"


def test_every_variable_in_the_readme_is_a_resource_field():
    """The README's configuration table and the resources' fields name the same variables."""
    import re

    from orchestration.resources import FetchResource
    from orchestration.settings import CRON_SETTING, RESOURCES, env_fields

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    named = set()
    for row in table.splitlines():
        first = re.findall(r"DISCLOSURE_[A-Z_]+", row)
        named.update(n for n in first if not n.endswith("_"))
        if first:  # `_PORT` after `DISCLOSURE_SMTP_HOST`: the same prefix
            named.update(first[0].rsplit("_", 1)[0] + short for short in re.findall(r"`(_[A-Z]+)`", row))
    fields = {env for resource in RESOURCES.values() for env, _ in env_fields(resource).values()}
    assert "DISCLOSURE_FETCH_<SETTING>" in table
    assert {"DISCLOSURE_SMTP_PORT", "DISCLOSURE_SMTP_PASSWORD", "DISCLOSURE_PARSE_WORKER_MEMORY_MB"} <= named
    assert named - {CRON_SETTING} <= fields, "a README variable that no resource field reads"  # the cron: the schedule's
    fetch = {env for env, _ in env_fields(FetchResource).values()}
    assert fields - fetch <= named, "a resource field the README does not name"


def test_the_refresh_run_config_keeps_the_configured_settings(monkeypatch, tmp_path):
    """--warehouse goes through run config, which Dagster takes whole for a resource: the other
    warehouse settings (here the lock timeout and a batch-gate share) must reach the run too."""
    from dagster import asset, materialize

    from orchestration.refresh import refresh_run_config
    from orchestration.resources import WarehouseResource
    from orchestration.settings import resources_from_env

    monkeypatch.setenv("DISCLOSURE_LOCK_TIMEOUT", "7")
    monkeypatch.setenv("DISCLOSURE_MAX_FAILED_SHARE", "0.25")
    configured = resources_from_env()
    run_config = refresh_run_config(configured, tmp_path / "sources.yml", tmp_path / "wh" / "disclosure.duckdb", full=False, progress=False)
    seen = {}

    @asset
    def reads_the_warehouse(warehouse: WarehouseResource) -> None:
        seen.update(published=warehouse.paths().published, lock=warehouse.lock_timeout_s, share=warehouse.max_failed_share)

    resources = {"warehouse": configured["warehouse"], "sources": configured["sources"]}
    del run_config["ops"]  # this test's job has no source_documents
    assert materialize([reads_the_warehouse], resources=resources, run_config=run_config).success
    assert seen == {"published": tmp_path / "wh" / "disclosure.duckdb", "lock": 7.0, "share": 0.25}
