"""End to end on the five real seeds: real parser, landing, dbt, GX gate, publish."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.warehouse_support import build_warehouse, parse_seeds, query, seed_truths, warehouse_paths

CONTRACT = {  # TEMPLATE.md's warehouse contract: relation -> columns it must have at least
    "marts.dim_report": {"report_id", "source_uri", "document_kind", "template_version", "agency_name", "year", "gate_status"},
    "marts.fct_metric": {"report_id", "agency_id", "year", "metric_key", "value"},
    "marts.dim_agency": {"agency_id", "agency_name", "province", "city", "county"},
    "marts.dim_metric": {"metric_key", "table_key", "row_key", "column_key", "label_zh", "unit", "template_versions"},
    "quality.rule_results": {"report_id", "rule", "instance", "lhs", "rhs", "passed"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory, seeds_dir):
    paths = warehouse_paths(tmp_path_factory.mktemp("seeds_wh"))
    result = build_warehouse(parse_seeds(seeds_dir), paths)
    return paths, result


def test_the_build_is_the_refresh_jobs_own_steps_in_graph_order(built):
    """The warehouse is built by the Dagster job users run (not a second copy of the sequence)."""
    _, result = built
    steps = list(result.seconds)  # the run's step stats, in start order
    assert steps[:3] == ["dbt_pre_gate", "quality_gate", "dbt_post_gate"]
    assert steps.index("marts__dim_report_batch_gate_allows_publish") < steps.index("published_warehouse")
    assert {"quality_gate_hard_rules_hold", "quality_gate_soft_rules_hold"} <= set(steps[3:]), \
        "the rule checks read dbt's verdicts: after dbt_post_gate"
    assert result.success


def _status(db):
    frame = query(db, "select source_uri, gate_status, failed_rules from marts.dim_report")
    return {s[:3]: (g, sorted(f)) for s, g, f in zip(frame.source_uri, frame.gate_status, frame.failed_rules)}


def test_gate_decides_each_seed_as_expected(built, seeds_dir):
    paths, result = built
    status = _status(paths.published)
    truths = seed_truths(seeds_dir)
    assert {k: v[0] for k, v in status.items()} == {k: t["gate"] for k, t in truths.items()}
    assert status["001"][1] == sorted(truths["001"]["expected_rule_failures"])
    assert result.gate_counts == {"passed": 3, "quarantined": 1, "not_applicable": 1}
    assert result.decision.ok and result.published == paths.published


def test_one_model_owns_the_verdicts(built):
    """The gate writes rule results only; dim_report derives each verdict and the batch gate counts them."""
    paths, result = built
    assert not {"passed", "quarantined", "not_applicable", "quarantined_reasons"} & set(result.gate), result.gate
    by_status = dict(query(paths.published, "select gate_status, count(*) as n from marts.dim_report group by 1").values)
    counts = query(paths.published, "select * from quality.batch_counts").iloc[0].to_dict()
    assert counts == {"documents": sum(by_status.values()), "failed": 0,
                      **{s: by_status.get(s, 0) for s in ("passed", "quarantined", "not_applicable")}}
    assert result.decision.counts == counts


def test_quarantine_reasons_are_queryable(built):
    paths, _ = built
    reasons = query(paths.published, "select rule, instance, lhs, rhs from quality.quarantine order by rule")
    assert list(reasons.rule + ":" + reasons.instance) == [
        "R1_balance:legal_services", "R2_row_total:total_processed", "R3_outcome_total:legal_services"]
    r2 = reasons[reasons.rule == "R2_row_total"].iloc[0]
    assert (r2.lhs, r2.rhs) == (25, 27)  # (七)总计: total 25, the columns add up to 27


def test_fct_metric_holds_exactly_the_passed_reports_cells(built, seeds_dir):
    paths, _ = built
    truths = seed_truths(seeds_dir)
    facts = query(paths.published, """
        select r.source_uri, f.metric_key, f.value from marts.fct_metric f join marts.dim_report r using (report_id)""")
    got = {(s[:3], k): v for s, k, v in zip(facts.source_uri, facts.metric_key, facts.value)}
    expected = {(seed, k): v for seed, t in truths.items() if t["gate"] == "passed"
                for k, v in t["cells"].items() if not k.startswith("active.extra.")}
    assert got == pytest.approx(expected)


def test_contract_relations_and_columns(built):
    paths, _ = built
    for relation, columns in CONTRACT.items():
        schema, name = relation.split(".")
        present = set(query(paths.published, "select column_name from information_schema.columns "
                                             "where table_schema = ? and table_name = ?", [schema, name]).column_name)
        assert columns <= present, f"{relation} lacks {columns - present}"


def test_agencies_get_their_region(built):
    paths, _ = built
    agencies = query(paths.published, "select agency_name, province, city, county from marts.dim_agency")
    regions = {a: (p, c, None if co is None or co != co else co)
               for a, p, c, co in zip(agencies.agency_name, agencies.province, agencies.city, agencies.county)}
    assert regions["厦门市集美区行政审批管理局"] == ("福建省", "厦门市", "集美区")
    assert regions["梁子湖区行政审批局"] == ("湖北省", "鄂州市", "梁子湖区")
    assert regions["泉州台商投资区规划建设与交通运输局"] == ("福建省", "泉州市", None)


def test_every_gated_report_has_every_hard_rule_and_provenance(built):
    paths, _ = built
    rules = query(paths.published, """
        select r.report_id, list(distinct q.rule order by q.rule) as rules
        from marts.dim_report r join quality.rule_results q using (report_id)
        where q.severity = 'hard' group by r.report_id""")
    for found in rules.rules:
        assert {"R1_balance", "R2_row_total", "R3_outcome_total", "R4_review_total", "R5_domain",
                "R6_complete"} <= set(found)
    provenance = query(paths.published, """select count(*) as n from marts.fct_metric
        where not is_derived and (raw_text is null or content_hash is null or parser_version is null)""")
    assert provenance.n[0] == 0


def test_data_docs_site_is_built(built):
    paths, result = built
    index = Path(result.gate["data_docs"])
    assert index is not None and index.parent == paths.data_docs_dir
    assert "R1_balance" in "".join(p.name for p in (paths.data_docs_dir / "validations").iterdir())


def test_dbt_docs_generate_describes_the_marts(built, monkeypatch, tmp_path):
    import json

    from orchestration.assets import DBT_PROJECT, dbt_vars
    from orchestration.resources import dbt_resource

    paths, _ = built
    monkeypatch.setenv("DISCLOSURE_WORK_DB", str(tmp_path / "elsewhere.duckdb"))  # the --vars path wins over env
    target = paths.work_db.parent / "dbt_target" / "docs"  # the dbt resource the assets use, on the built work DB
    dbt_resource(DBT_PROJECT).cli(["docs", "generate", *dbt_vars(paths)], target_path=target).wait()
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    relations = {(n["metadata"]["schema"], n["metadata"]["name"]) for n in catalog["nodes"].values()}
    assert {("marts", "dim_report"), ("marts", "fct_metric"), ("marts", "agency_year"), ("quality", "quarantine")} <= relations


def test_marts_export_to_parquet(built, tmp_path):
    import pyarrow.parquet as pq

    from orchestration.warehouse.export import export_parquet

    paths, _ = built
    written = {p.name for p in export_parquet(paths.published, tmp_path)}
    # a relation with a year is a folder partitioned by year (year=2021/...), the others one file each
    assert {"marts.dim_report", "marts.fct_metric", "quality.rule_results.parquet", "marts.dim_metric.parquet"} <= written
    assert pq.read_table(tmp_path / "marts.dim_report").num_rows == 5


def test_wide_models_pivot_the_dictionarys_keys_in_its_order(built):
    """dbt reads the template's keys from the metric_dictionary seed, as extraction does."""
    from extract.template import table_columns, table_rows

    paths, _ = built
    expected = {
        "int_active_disclosure": table_columns("active"),
        "int_applications_by_row": table_columns("applications"),
        "int_review_litigation": table_columns("review_litigation"),
        "int_applications_by_applicant": table_rows("applications"),
    }
    for model, keys in expected.items():
        columns = query(paths.published, "select column_name from information_schema.columns where table_schema = "
                                         "'intermediate' and table_name = ? order by ordinal_position", [model]).column_name
        assert tuple(c for c in columns if c not in ("report_id", "template_version", "row_key", "applicant_column")) == keys, model
