"""The fixed start-up of every ``disclosure`` command (issue #11): a run's planned events written in one
transaction, and no library loaded that the command does not use. Counts, never timings."""

from __future__ import annotations

import subprocess
import sys
import time

import sqlalchemy
from dagster import AssetKey, DagsterInstance
from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent, DagsterEventBatchMetadata, DagsterEventType
from dagster._core.instance.ref import InstanceRef

from orchestration.event_log import batched_event_log
from orchestration.refresh import ensure_dagster_home, refresh_instance

PLANNED = 50  # about a refresh run's planned events: one per asset, most of them dbt models


def sqlite_connections(instance: DagsterInstance, events: list[DagsterEvent], run_id: str) -> int:
    """How many SQLite connections the instance opens to store ``events`` as one batch (as run creation sends them)."""
    opened = []
    listener = lambda *_: opened.append(1)  # noqa: E731
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", listener)
    try:
        for i, event in enumerate(events):
            instance.report_dagster_event(event, run_id, batch_metadata=DagsterEventBatchMetadata("b", i == len(events) - 1))
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "connect", listener)
    return len(opened)


def planned(key: str) -> DagsterEvent:
    return DagsterEvent.build_asset_materialization_planned_event(
        "refresh", "step", AssetMaterializationPlannedData(AssetKey(key), partition=None, partitions_subset=None))


def test_a_runs_planned_events_are_written_in_one_transaction_and_read_by_the_default_storage(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "")  # recorded, so what refresh_instance sets is undone after the test
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")
    home = ensure_dagster_home()
    with refresh_instance(home) as instance:
        connections = sqlite_connections(instance, [planned(f"asset_{i}") for i in range(PLANNED)], "run1")
    # the batch's two shards, and the new run shard's set-up; one per event and shard before (over 100)
    assert connections <= 10, f"{connections} SQLite connections for one batch of {PLANNED} events"
    # the UI and the daemon read the same files with Dagster's default storage
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as ui:
        assert type(ui.event_log_storage).__name__ == "SqliteEventLogStorage"
        stored = [e for e in ui.all_logs("run1") if e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED]
        assert len(stored) == PLANNED
        assert ui.get_latest_planned_materialization_info(AssetKey("asset_7")).run_id == "run1"  # the cross-run index


def test_an_event_outside_a_batch_is_stored_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    with refresh_instance(ensure_dagster_home()) as instance:
        instance.report_dagster_event(planned("alone"), "run2")
        assert len(instance.all_logs("run2")) == 1


def test_a_storage_configured_in_dagster_yaml_is_left_as_it_is():
    assert batched_event_log("/home", {"storage": {"postgres": {}}}) == {}
    assert batched_event_log("/home", {"event_log_storage": {"module": "m", "class": "C"}}) == {}
    assert batched_event_log("/home", {"telemetry": {"enabled": False}})["event_log_storage"]["config"]["base_dir"] == "/home/history/runs/"


def loaded_modules(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
                          capture_output=True, text=True, timeout=300, check=True)
    return set(done.stdout.split())


def test_help_loads_neither_package_metadata_nor_the_parser():
    modules = loaded_modules("from orchestration.cli import build_parser\nbuild_parser().format_help()")
    assert "importlib.metadata" not in modules and "extract" not in modules


def test_the_code_location_and_the_gate_module_load_without_pandas():
    """A refresh with nothing changed reads the Data Docs path from expectations.gate; pandas comes with GX, when the gate runs."""
    modules = loaded_modules("import orchestration.definitions, expectations.gate")
    assert "pandas" not in modules


def test_a_failed_batch_rolls_back_and_dagster_stores_the_events_one_by_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    with refresh_instance(ensure_dagster_home()) as instance:
        storage = instance.event_log_storage
        original = type(storage).store_event
        calls = []

        def fail_in_batch(self, event):
            calls.append(time.monotonic())
            if self._batch and len(calls) == 3:
                raise RuntimeError("disk full")
            return original(self, event)

        monkeypatch.setattr(type(storage), "store_event", fail_in_batch)
        sqlite_connections(instance, [planned(f"a{i}") for i in range(5)], "run3")
        assert len([e for e in instance.all_logs("run3")]) == 5  # none twice, none lost
