"""Data Docs that summarise: one validation page per (rule, template version), its counts taken whole
from ``quality.rule_results`` and only the first failures named (report id, agency and year, both
sides, in the expectation's description: GX renders no row table for column pairs).

The verdicts are GX's (``gate.py`` takes them chunk by chunk, some in earlier runs when the gate is
incremental); a page is their summary over every report in the warehouse, so it is the same size
however many reports fail, and the same whether this run validated every report or a few. A page's
first row says how many reports this run validated.
"""

from __future__ import annotations

from collections import defaultdict

from .gate_rows import rule_of

STATS_SQL = """
select expectation, instance, count(*) as checked, count(*) filter (not passed) as failing
from quality.rule_results group by all
"""

FIRST_FAILURES_SQL = """
select r.expectation, r.instance, r.report_id,
       trim(coalesce(c.agency_name, '') || ' ' || coalesce(c.year::varchar, '')) as label, r.lhs, r.rhs
from (select *, row_number() over (partition by expectation, instance order by report_id) as n
      from quality.rule_results where not passed) as r
left join intermediate.int_reports_current as c using (report_id)
where r.n <= ?
order by r.expectation, r.instance, r.report_id
"""


def summarise_for_docs(conn, context, plan, run_id, shown: int) -> None:
    """Store one validation result per suite for the Data Docs site: a row per rule instance with its counts
    and its first ``shown`` failures."""
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    store = context.validation_results_store
    stats = {(e, i): (checked, failing) for e, i, checked, failing in conn.execute(STATS_SQL).fetchall()}
    first = defaultdict(list)
    for expectation, instance, rid, label, lhs, rhs in conn.execute(FIRST_FAILURES_SQL, [shown]).fetchall():
        first[(expectation, instance)].append(f"{rid} {label} (lhs {_side(lhs)}, rhs {_side(rhs)})".replace("  ", " "))
    validated = (f"this run validated {plan.validated:,} of {plan.reports:,} reports ({plan.mode}: {plan.reason}); "
                 "counts over all reports, from quality.rule_results")
    instances = defaultdict(list)
    for name, instance in sorted(stats):
        instances[name].append(instance)
    for name in sorted(instances):
        results = []
        for instance in instances[name]:
            checked, failing = stats[(name, instance)]
            config = _instance_expectation(name, instance).configuration
            named = first.get((name, instance), [])
            more = f"; and {failing - len(named):,} more (quality.rule_results)" if failing > len(named) else ""
            config.description = (f"{config.description}. {failing:,} failing reports of {checked:,}"
                                  + (": " + ", ".join(named) + more if failing else "")
                                  + ("" if results else f" [{validated}]"))  # said once per page, on its first row
            results.append(ExpectationValidationResult(success=failing == 0, expectation_config=config, result={
                "element_count": checked, "unexpected_count": failing, "missing_count": 0,
                "unexpected_percent": 100 * failing / checked if checked else 0.0,
                "partial_unexpected_list": [], "unexpected_index_list": [{"report_id": [n.split(" ", 1)[0] for n in named]}],
            }))
        passed = sum(r.success for r in results)
        statistics = {"evaluated_expectations": len(results), "successful_expectations": passed,
                      "unsuccessful_expectations": len(results) - passed,
                      "success_percent": 100 * passed / len(results) if results else None}
        validation = ExpectationSuiteValidationResult(
            success=passed == len(results), results=results, suite_name=name, statistics=statistics,
            meta={"run_id": run_id, "validation_time": run_id.run_time, "great_expectations_version": _gx_version(),
                  "gate": validated})
        store.set(ValidationResultIdentifier(ExpectationSuiteIdentifier(name), run_id, f"gate-{name}"), validation)


def expectation(rule, lhs: str, rhs: str, meta: dict, description: str):
    """GX's expectation comparing column ``lhs`` with ``rhs`` by the rule's comparison. ``ignore_row_if="neither"``:
    a NULL side FAILS (GX's default would skip rows where both are missing); R5 skips both sides missing
    (an absent cell is R6's business)."""
    import great_expectations.expectations as gxe

    from .rules import AT_MOST

    common = dict(meta=meta, description=description,
                  ignore_row_if="both_values_are_missing" if rule.missing_is_absent else "neither")
    if rule.comparison == AT_MOST:
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=rhs, column_B=lhs, or_equal=True, **common)
    return gxe.ExpectColumnPairValuesToBeEqual(column_A=lhs, column_B=rhs, **common)


def _instance_expectation(name: str, instance: str):
    """How a page names one rule instance: its two sides compared, as the suite compares every row."""
    rule = rule_of(name)
    return expectation(rule, f"{instance}:lhs", f"{instance}:rhs", description=f"{rule.name}:{instance} — {rule.statement}",
                       meta={"rule": rule.name, "instance": instance, "severity": rule.severity})


def _side(value) -> str:
    return "missing" if value is None or value != value else f"{value:g}"


def _gx_version() -> str:
    import great_expectations as gx

    return gx.__version__
