"""The checks' verdicts a refresh with nothing changed reads from the warehouse as it stands (issue #11): counted
in SQL with a sample of the failures, never a row per failure in Python (at 100k reports reading every failure
only to count it was seconds of a run that does nothing), and the same counts as the failures themselves give.

The real dbt, gate and DuckDB on the five seeds (``build_warehouse``); seed 001 breaks a hard rule."""

from __future__ import annotations

import pytest

from orchestration import checks
from orchestration.alert_memory import failing_reports
from orchestration.resources import WarehouseResource
from orchestration.verdicts import failures
from tests.warehouse_support import build_warehouse, parse_seeds, warehouse_paths

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, seeds_dir):
    paths = warehouse_paths(tmp_path_factory.mktemp("verdicts") / "wh")
    assert build_warehouse(parse_seeds(seeds_dir), paths, publish_=False).success
    return WarehouseResource(warehouse=str(paths.published), work_db=str(paths.work_db), data_docs=str(paths.data_docs_dir),
                             corrections=str(paths.corrections_csv), waivers=str(paths.waivers_csv))


@pytest.mark.parametrize("hard", [True, False])
def test_standing_counts_are_those_of_the_failures_themselves(warehouse, hard):
    with warehouse.connect(read_only=True) as con:
        rows = failures(con, hard)
    reports = failing_reports(rows)
    failed, metadata, summary = checks.rule_verdict(warehouse, hard)
    assert failed == metadata["failed_instances"] == len(rows)
    assert metadata["reports"] == len(reports)
    assert metadata["rules_failed"].value == sorted({f.what for f in rows})
    assert (summary is not None) == hard
    if hard:
        assert rows and "001_" in metadata["failures"].value, "seed 001 is quarantined, named in the sample"
        with warehouse.connect(read_only=True) as con:
            every = rows + failures(con, hard=False)  # the summary counts both severities' failures
        by_rule: dict[str, list] = {}
        by_what: dict[str, set] = {}
        for f in every:
            by_rule.setdefault(f.rule, []).append(f.report_id)
            by_what.setdefault(f.what, set()).add(f.report_id)
        assert summary["by_rule"] == {rule: {"reports": len(set(ids)), "instances": len(ids)} for rule, ids in sorted(by_rule.items())}
        expected = sorted(({"failure": w, "reports": len(ids)} for w, ids in by_what.items()), key=lambda t: (-t["reports"], t["failure"]))
        assert summary["top_failures"] == expected[:10]

def test_a_standing_verdict_reads_no_row_per_failure(warehouse, monkeypatch):
    """Counted in SQL: only the first ``SAMPLE_ROWS`` failures are read, and no report is gathered for alerts."""
    read: list[int | None] = []
    real = checks.failures

    def counted(con, hard, limit=None):
        read.append(limit)
        return real(con, hard, limit)

    monkeypatch.setattr(checks, "failures", counted)
    monkeypatch.setattr(checks, "failing_reports", lambda rows: pytest.fail("a standing verdict gathers no report"))
    evaluations = checks.standing_verdicts(warehouse, "nothing changed")
    assert read == [checks.SAMPLE_ROWS, checks.SAMPLE_ROWS]
    hard = next(e for e in evaluations if e.check_name == "hard_rules_hold")
    assert not hard.passed and hard.metadata["failed_instances"].value >= 1
