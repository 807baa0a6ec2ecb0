"""DuckDB's memory limit is one setting, DISCLOSURE_DUCKDB_MEMORY: the refresh job passes it to the GX gate
(expectations/ takes it from its caller) and to dbt (profiles.yml reads the var the dbt assets pass, else the
environment); a value DuckDB does not take is refused naming the variable."""

from __future__ import annotations

import json
import os
import subprocess

import duckdb
import pytest

from expectations.gate import run_gate
from tests.corpus import generate
from tests.warehouse_support import build_warehouse, report_from_truth, warehouse_paths


def as_duckdb_says(limit: str) -> str:
    """``limit`` as DuckDB reports it once set (e.g. 300MB -> 286.1 MiB)."""
    with duckdb.connect() as con:
        con.execute(f"set memory_limit = '{limit}'")
        return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_a_memory_limit_duckdb_does_not_take_is_refused_naming_the_variable():
    from orchestration.settings import SettingsError, resources_from_env

    assert resources_from_env({"DISCLOSURE_DUCKDB_MEMORY": "768MB"})["warehouse"].duckdb_memory == "768MB"
    assert resources_from_env({})["warehouse"].duckdb_memory is None  # dbt's and the gate's own defaults
    with pytest.raises(SettingsError, match="DISCLOSURE_DUCKDB_MEMORY='lots' is not a DuckDB memory limit"):
        resources_from_env({"DISCLOSURE_DUCKDB_MEMORY": "lots"})
    with pytest.raises(SettingsError, match="DISCLOSURE_GATE_CHUNK_ROWS='0' is less than 1"):
        resources_from_env({"DISCLOSURE_GATE_CHUNK_ROWS": "0"})


def test_the_gate_runs_under_the_configured_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("DISCLOSURE_DUCKDB_MEMORY", "300MB")
    monkeypatch.setenv("DISCLOSURE_GATE_CHUNK_ROWS", "50")
    docs = generate(6, seed=11, inconsistent_share=0.2)
    paths = warehouse_paths(tmp_path / "wh")
    built = build_warehouse([report_from_truth(d.truth, source=f"doc-{i}.html", content=d.data) for i, d in enumerate(docs)],
                            paths, publish_=False)
    assert built.gate, "the gate ran"
    assert built.gate["duckdb_memory"] == as_duckdb_says("300MB") != as_duckdb_says("512MB")
    assert built.gate["gate_mode"] == "full"
    with duckdb.connect(str(paths.work_db)) as conn:
        default = run_gate(conn, full=True)
    assert default.memory_limit == as_duckdb_says("512MB")
    assert built.gate["gx_validations"] > default.validations  # the same rows, in chunks of 50


def dbt_memory_limit(tmp_path, env: dict, duckdb_memory: str | None) -> str:
    """DuckDB's memory limit on the connection dbt opens with the project's profile (``dbt show``)."""
    from orchestration.assets import dbt_vars
    from orchestration.resources import dbt_executable
    from orchestration.warehouse.config import DBT_PROJECT_DIR

    paths = warehouse_paths(tmp_path / "wh")
    paths.work_db.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [dbt_executable(), "show", "--inline", "select current_setting('memory_limit') as memory_limit", "--output", "json",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"), *dbt_vars(paths, duckdb_memory)],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    shown = proc.stdout[proc.stdout.index('{"show"'):] if '{"show"' in proc.stdout else proc.stdout[proc.stdout.index("{"):]
    return json.loads(shown[: shown.rindex("}") + 1])["show"][0]["memory_limit"]


def test_dbt_reads_the_limit_from_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISCLOSURE_DUCKDB_MEMORY"}
    assert dbt_memory_limit(tmp_path, env, "300MB") == as_duckdb_says("300MB")  # the var the dbt assets pass
    assert dbt_memory_limit(tmp_path, {**env, "DISCLOSURE_DUCKDB_MEMORY": "700MB"}, None) == as_duckdb_says("700MB")
    # the default: 768MB since 1GB made the tree's peak at 100k documents (the refresh process + dbt) ~2 GB
    assert dbt_memory_limit(tmp_path, env, None) == as_duckdb_says("768MB")
