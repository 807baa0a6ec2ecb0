"""R5_domain bounds every metric by the metric dictionary's ``max_value``: an absurd figure (a fee of
1e30 万元, a count of ten million and one), extracted or corrected, quarantines its report and never
reaches ``marts.fct_metric``; a figure at the bound passes."""

from __future__ import annotations

import random

import pytest

from orchestration.warehouse.landing import report_id
from tests.corpus import random_truth
from tests.warehouse_support import build_warehouse, query, report_from_truth, warehouse_paths

FEE, ISSUED = "active.fees.amount_10k_yuan", "active.rules.issued"
CASES = {  # source -> (cell changes, the failures expected)
    "domain/fee_1e30.html": ({FEE: 1e30}, [f"R5_domain:{FEE}"]),
    "domain/fee_at_bound.html": ({FEE: 1e8}, []),
    "domain/count_above.html": ({ISSUED: 10_000_001}, [f"R5_domain:{ISSUED}"]),
    "domain/count_at_bound.html": ({ISSUED: 10_000_000}, []),
    "domain/corrected_fee.html": ({}, [f"R5_domain:{FEE}"]),  # corrected to 1e30 below
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = random_truth(random.Random(5), "2021")
    reports = {}
    for source, (changes, _) in CASES.items():
        truth = dict(base, cells={**base["cells"], **changes})
        reports[source] = report_from_truth(truth, source=source)
    ids = {source: report_id(source, r.content_hash) for source, r in reports.items()}
    paths = warehouse_paths(tmp_path_factory.mktemp("domain_wh"),
                            corrections=f"{ids['domain/corrected_fee.html']},{FEE},1e30,typo,a maintainer\n")
    build_warehouse(list(reports.values()), paths, publish_=False)  # 3 of 5 quarantined: the batch gate would refuse
    return paths, ids


def test_values_beyond_the_dictionary_bound_are_quarantined_by_r5(built):
    paths, ids = built
    for source, (_, expected) in CASES.items():
        row = query(paths.work_db, "select gate_status, failed_rules from marts.dim_report where report_id = ?",
                    [ids[source]]).iloc[0]
        assert (row.gate_status, sorted(row.failed_rules)) == ("quarantined" if expected else "passed", expected), source


def test_no_absurd_value_reaches_fct_metric(built):
    paths, _ = built
    assert query(paths.work_db, "select max(abs(value)) as top from marts.fct_metric").top[0] <= 1e8
    reasons = query(paths.work_db, "select rule, instance, lhs, rhs from quality.quarantine "
                                     "where source_uri = 'domain/fee_1e30.html'")
    assert reasons.to_dict("records") == [{"rule": "R5_domain", "instance": FEE, "lhs": 1e30, "rhs": 1e8}]


def test_the_bound_is_in_dim_metric(built):
    paths, _ = built
    bounds = query(paths.work_db, "select metric_key, unit, max_value from marts.dim_metric")
    assert bounds.max_value.notna().all()
    assert bounds.set_index("metric_key").max_value[FEE] == 1e8
    assert set(bounds[bounds.unit.isin(["件", "项"])].max_value) == {10_000_000}
