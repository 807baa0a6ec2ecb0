"""Refresh behaviour: idempotence, a changed page, the batch gate, a reader during a refresh,
and a refresh killed with SIGKILL mid-way."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.warehouse.landing import land, parsed_reports
from orchestration.warehouse.publish import batch_gate
from tests.warehouse_support import REPO, build_warehouse, query, report_from_truth, seed_truths, warehouse_paths

MARTS_SQL = {
    "dim_report": "select * exclude (landed_at) from marts.dim_report order by report_id",
    "fct_metric": "select * from marts.fct_metric order by report_id, metric_key",
    "rule_results": "select * exclude (checked_at) from quality.rule_results order by report_id, rule, instance",
}


FETCHES = [
    {"source_uri": f"site/{n}.txt", "final_url": f"http://127.0.0.1/site/{n}.txt", "fetched_at": "2026-01-01T00:00:00+00:00",
     "status": "fetched", "http_status": 200, "content_hash": None, "headers": '{"content-type": "text/plain"}', "error": None}
    for n in ("000", "001", "002", "003", "004")
]


def _truths(seeds_dir: Path) -> list[dict]:
    return [dict(t, source=f"site/{name}.txt") for name, t in seed_truths(seeds_dir).items()]


def _changed_002(seeds_dir: Path) -> dict:
    """Seed 002's page republished with one number changed (still consistent)."""
    truth = next(t for t in _truths(seeds_dir) if t["source"] == "site/002.txt")
    return dict(truth, cells=dict(truth["cells"], **{"active.penalty.decisions": 123}))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def base(tmp_path_factory, seeds_dir):
    """A published warehouse of the five seeds (from their truth), copied afresh by each test."""
    root = tmp_path_factory.mktemp("refresh_base")
    paths = warehouse_paths(root)
    result = build_warehouse([report_from_truth(t) for t in _truths(seeds_dir)], paths, fetches=FETCHES)
    assert result.decision.ok and result.landing.fetches == 5
    return root


@pytest.fixture
def copy(base, tmp_path):
    root = tmp_path / "wh"
    shutil.copytree(base, root)
    return warehouse_paths(root)


def test_loading_the_same_documents_twice_changes_nothing(copy, seeds_dir):
    before = {name: query(copy.published, sql) for name, sql in MARTS_SQL.items()}
    reports = [report_from_truth(t) for t in _truths(seeds_dir)]
    assert parsed_reports(copy.work_db, reports[0].parser_version) == {(r.source, r.content_hash) for r in reports}
    assert parsed_reports(copy.work_db, "another-parser") == set()
    stats = land(copy.work_db, reports, FETCHES, corrections=copy.corrections_csv, waivers=copy.waivers_csv)
    assert (stats.unchanged, stats.new, stats.reparsed, stats.cells, stats.fetches) == (5, 0, 0, 0, 0)
    build_warehouse(reports, copy, fetches=FETCHES)
    for name, sql in MARTS_SQL.items():
        after = query(copy.published, sql)
        assert after.equals(before[name]), name


def test_a_changed_page_replaces_its_previous_version_while_a_reader_reads(copy, seeds_dir, tmp_path):
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(copy.published), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert reader.stdout.readline().startswith("ok 5")  # the reader holds the published file open
        result = build_warehouse([report_from_truth(_changed_002(seeds_dir))], copy)
        assert result.landing.new_versions == 1 and result.published == copy.published
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert out.strip().splitlines()[-1] == "ok 5"  # still reading its snapshot after the publish
    reports = query(copy.published, "select source_uri, source_version, gate_status from marts.dim_report")
    assert len(reports) == 5
    assert reports.set_index("source_uri").loc["site/002.txt"].tolist() == [2, "passed"]
    value = query(copy.published, """select f.value from marts.fct_metric f join marts.dim_report r using (report_id)
        where r.source_uri = 'site/002.txt' and f.metric_key = 'active.penalty.decisions'""")
    assert value.value.tolist() == [123]
    assert query(copy.published, "select count(*) as n from raw.documents").n[0] == 6  # history kept


READER = """
import sys, pathlib, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
stop = pathlib.Path(sys.argv[2])
while True:
    done = stop.exists()
    n = conn.execute("select count(*) from marts.dim_report").fetchone()[0]
    print("ok", n, flush=True)
    if done:
        break
"""


def test_batch_gate_refusal_keeps_the_published_warehouse(copy, seeds_dir, monkeypatch):
    before = _sha(copy.published)
    monkeypatch.setenv("DISCLOSURE_MAX_QUARANTINE_SHARE", "0.1")  # 1 of 5 quarantined is too many now
    result = build_warehouse([report_from_truth(_changed_002(seeds_dir))], copy)
    assert not result.decision.ok and "quarantined" in result.decision.reason
    assert result.published is None and _sha(copy.published) == before


def test_a_new_parser_version_replaces_cells_without_a_new_version(copy, seeds_dir):
    cells = query(copy.work_db, "select count(*) as n from raw.cells")["n"][0]
    reports = [report_from_truth(t, parser_version="truth-2") for t in _truths(seeds_dir)]
    stats = land(copy.work_db, reports, corrections=copy.corrections_csv, waivers=copy.waivers_csv)
    assert (stats.reparsed, stats.new, stats.new_versions) == (5, 0, 0)
    assert query(copy.work_db, "select count(*) as n from raw.cells")["n"][0] == cells  # replaced, not added
    docs = query(copy.work_db, "select parser_version, source_version, count(*) as n from raw.documents group by all")
    assert docs.values.tolist() == [["truth-2", 1, 5]]


def test_batch_gate_refuses_when_too_many_sources_failed(copy):
    failures = [{"source_uri": f"site/broken{i}.html", "content_hash": f"{i:064x}", "parser_version": "truth-1",
                 "error": "parser crashed"} for i in range(6)]
    stats = land(copy.work_db, [], failures=failures, corrections=copy.corrections_csv, waivers=copy.waivers_csv)
    assert stats.parse_failures == 6
    decision = batch_gate(copy.work_db)
    assert not decision.ok and "6 sources failed" in decision.reason and decision.counts["failed"] == 6
    assert batch_gate(copy.work_db, max_failed_share=0.9).ok


def test_batch_gate_counts_only_the_current_load(copy):
    """Failed sources the manifest no longer lists do not count against the load (quality.batch_counts)."""
    before = batch_gate(copy.work_db).counts
    failures = [{"source_uri": f"site/broken{i}.html", "content_hash": f"{i:064x}", "parser_version": "truth-1",
                 "error": "parser crashed"} for i in range(6)]
    land(copy.work_db, [], failures=failures, corrections=copy.corrections_csv, waivers=copy.waivers_csv)
    assert batch_gate(copy.work_db).counts == {**before, "failed": 6}
    listed = query(copy.work_db, "select source_uri, content_hash from raw.sources where source_uri not like '%broken%'")
    land(copy.work_db, [], sources=listed.to_dict("records"), corrections=copy.corrections_csv, waivers=copy.waivers_csv)
    decision = batch_gate(copy.work_db)
    assert decision.ok and decision.counts == before and before["documents"] == 5, decision


def test_batch_gate_refuses_when_nothing_was_parsed(tmp_path):
    decision = batch_gate(tmp_path / "missing.duckdb")
    assert not decision.ok and "nothing was landed" in decision.reason


KILLED_REFRESH = """
import json, sys, pathlib
from tests.warehouse_support import build_warehouse, report_from_truth, warehouse_paths
truth = json.loads(pathlib.Path(sys.argv[2]).read_text(encoding="utf-8"))
build_warehouse([report_from_truth(truth)], warehouse_paths(pathlib.Path(sys.argv[1])), progress=True)
"""


@pytest.mark.parametrize("kill_at", ["land ...", "▶ dbt_pre_gate", "▶ quality_gate"])  # the job's progress lines
def test_a_killed_refresh_leaves_the_published_warehouse_intact(copy, seeds_dir, tmp_path, kill_at):
    before = _sha(copy.published)
    truth_file = tmp_path / "truth.json"
    truth_file.write_text(json.dumps(_changed_002(seeds_dir), ensure_ascii=False), encoding="utf-8")
    refresh = subprocess.Popen([sys.executable, "-c", KILLED_REFRESH, str(copy.published.parent), str(truth_file)],
                               stdout=subprocess.PIPE, text=True, encoding="utf-8", cwd=REPO,
                               env=os.environ | {"PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"})
    for line in refresh.stdout:
        if line.strip() == kill_at:
            refresh.send_signal(signal.SIGKILL)
            break
    refresh.wait(timeout=120)
    assert refresh.returncode == -signal.SIGKILL
    assert _sha(copy.published) == before
    assert len(query(copy.published, "select * from marts.dim_report")) == 5
    result = build_warehouse([report_from_truth(_changed_002(seeds_dir))], copy)  # the next refresh succeeds
    assert result.decision.ok and result.published == copy.published
    assert query(copy.published, "select source_version from marts.dim_report "
                                 "where source_uri = 'site/002.txt'").source_version.tolist() == [2]


def test_a_load_without_any_annual_report_builds_and_publishes(tmp_path, seeds_dir):
    paths = warehouse_paths(tmp_path / "wh")
    result = build_warehouse([report_from_truth(seed_truths(seeds_dir)["004"])], paths)
    assert result.gate_counts == {"passed": 0, "quarantined": 0, "not_applicable": 1}
    assert result.decision.ok
    assert query(paths.published, "select gate_status from marts.dim_report").gate_status.tolist() == ["not_applicable"]
    assert query(paths.published, "select count(*) as n from marts.fct_metric").n[0] == 0
