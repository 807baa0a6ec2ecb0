"""The gate at scale: GX validating a suite's rows in chunks writes the quality.rule_results one validation
of everything writes, each verdict the rule's own comparison (a NULL side fails); and the gate is
incremental: only the reports whose rule inputs changed (a changed page, a maintainer's correction) are
validated again, and the table is the one a from-empty run writes."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from expectations.gate import run_gate
from expectations.rules import AT_MOST, RULES
from tests.corpus import generate
from tests.test_warehouse_refresh import FETCHES, _changed_002, _truths
from tests.warehouse_support import build_warehouse, report_from_truth, warehouse_paths

RESULTS_SQL = "select * exclude (checked_at) from quality.rule_results order by report_id, rule, instance"


def _expected_verdicts_sql() -> str:
    """Each rule's comparison in plain SQL, row by row: what GX must have decided."""
    checks = []
    for rule in RULES:
        holds = "lhs <= rhs" if rule.comparison == AT_MOST else "lhs = rhs"
        both_missing = "lhs is null and rhs is null" if rule.missing_is_absent else "false"
        checks.append(f"select report_id, '{rule.name}' as rule, instance::varchar as instance, "
                      f"coalesce({holds}, false) or ({both_missing}) as passed from ({rule.select_sql()})")
    return " union all ".join(checks)


def test_chunked_validation_writes_what_one_validation_writes_and_each_verdict_is_the_rules(tmp_path):
    docs = generate(40, seed=5, inconsistent_share=0.5)
    reports = [report_from_truth(d.truth, source=f"doc-{i}.html", content=d.data) for i, d in enumerate(docs)]
    paths = warehouse_paths(tmp_path / "wh")
    built = build_warehouse(reports, paths, publish_=False)
    assert built.gate["gate_mode"] == "full" and built.gate["validated_reports"] > 30
    with duckdb.connect(str(paths.work_db)) as conn:
        by_the_job = conn.execute(RESULTS_SQL).df()
        chunked = run_gate(conn, chunk_rows=500, full=True)
        in_chunks = conn.execute(RESULTS_SQL).df()
        whole = run_gate(conn, chunk_rows=10**9, full=True)
        in_one = conn.execute(RESULTS_SQL).df()
        wrong = conn.execute(f"""select count(*) from quality.rule_results r join ({_expected_verdicts_sql()}) e
                                 using (report_id, rule, instance) where r.passed <> e.passed""").fetchone()[0]
        (failed,) = conn.execute("select count(*) from quality.rule_results where not passed").fetchone()
    assert chunked.validations > whole.validations  # R5's rows really were validated in several chunks
    assert in_chunks.equals(in_one) and in_one.equals(by_the_job)
    assert len(in_one) == whole.rule_checks and failed > 0 and wrong == 0


@pytest.fixture(scope="module")
def seeds_built(tmp_path_factory, seeds_dir):
    """The five seeds (from their truth) through the real job: the gate's first run is a full one."""
    root = tmp_path_factory.mktemp("gate_incremental")
    built = build_warehouse([report_from_truth(t) for t in _truths(seeds_dir)], warehouse_paths(root), fetches=FETCHES)
    assert built.gate["gate_mode"] == "full" and built.gate["dropped_reports"] == 0
    return root, built.gate["validated_reports"]


def _as_from_empty(work_db, tmp_path):
    """quality.rule_results as a gate run from empty writes it, on a copy of ``work_db``."""
    copy = tmp_path / "from_empty.duckdb"
    shutil.copyfile(work_db, copy)
    with duckdb.connect(str(copy)) as conn:
        conn.execute("drop table quality.rule_results")
        result = run_gate(conn)
        assert result.mode == "full"
        return conn.execute(RESULTS_SQL).df()


def test_a_changed_page_is_the_only_report_validated_again(seeds_built, seeds_dir, tmp_path):
    base, validated_first = seeds_built
    shutil.copytree(base, tmp_path / "wh")
    paths = warehouse_paths(tmp_path / "wh")
    built = build_warehouse([report_from_truth(_changed_002(seeds_dir))], paths)
    assert built.success and validated_first >= 4
    assert (built.gate["gate_mode"], built.gate["validated_reports"], built.gate["dropped_reports"]) == ("incremental", 1, 1)
    with duckdb.connect(str(paths.work_db), read_only=True) as conn:
        after = conn.execute(RESULTS_SQL).df()
        (new_id,) = conn.execute("select report_id from marts.dim_report where source_uri = 'site/002.txt'").fetchone()
    assert new_id in set(after["report_id"])
    assert after.equals(_as_from_empty(paths.work_db, tmp_path))


def test_a_correction_revalidates_its_report_and_a_gate_change_revalidates_all(seeds_built, seeds_dir, tmp_path):
    base, validated_first = seeds_built
    shutil.copytree(base, tmp_path / "wh")
    with duckdb.connect(str(tmp_path / "wh" / "work" / "disclosure.duckdb"), read_only=True) as conn:
        (report_id,) = conn.execute("select report_id from marts.dim_report where source_uri = 'site/001.txt'").fetchone()
    paths = warehouse_paths(tmp_path / "wh", corrections=f"{report_id},applications.new_received.natural_person,999,"
                                                         "a typo on the page,a maintainer\n")
    built = build_warehouse([], paths)
    assert (built.gate["gate_mode"], built.gate["validated_reports"], built.gate["dropped_reports"]) == ("incremental", 1, 0)
    with duckdb.connect(str(paths.work_db)) as conn:
        corrected = conn.execute("select lhs from quality.rule_results where report_id = ? and rule = 'R1_balance' "
                                 "and instance = 'natural_person'", [report_id]).fetchone()
        after = conn.execute(RESULTS_SQL).df()
        conn.execute("update gate.state set fingerprint = 'the gate before a change of its code'")
        changed_gate = run_gate(conn)
        assert conn.execute(RESULTS_SQL).df().equals(after)
    assert corrected[0] > 999  # new_received + carried_over, with the corrected cell
    assert (changed_gate.mode, changed_gate.validated_reports) == ("full", validated_first)
    assert after.equals(_as_from_empty(paths.work_db, tmp_path))
