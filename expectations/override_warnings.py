"""Maintainer overrides that take no effect, as warnings (``quality.override_warnings``).

A correction or waiver whose CSV is well formed can still name a report the warehouse does not
hold (not fetched yet, retired, a mistyped id), an older version of a source that has since
changed (its report_id is no longer current), a page that is no annual report, or, for a waiver,
a rule instance the gate never checked for that report. Such a row changes nothing, silently;
here each gets its file, line and what is wrong, so the run summary and ``quality.quarantine``
can show it. (Malformed rows are refused earlier, when landing: ``landing.read_overrides``.)
"""

from __future__ import annotations

WARNINGS_SQL = """
with overrides as (
    select loaded_from as file, line, 'correction' as override, report_id, metric_key as target
    from staging.stg_corrections
    union all
    select loaded_from, line, 'waiver', report_id, waived_rule
    from staging.stg_waivers
),

documents as (
    select report_id, any_value(source_uri) as source_uri from raw.documents group by report_id
),

checked as (
    select distinct report_id, rule, rule || ':' || instance as rule_instance from quality.rule_results
    where report_id in (select report_id from staging.stg_waivers)
),

judged as (
    select
        overrides.*,
        documents.source_uri,
        case
            when documents.report_id is null
                then 'report not in the warehouse (not fetched yet, retired, or a mistyped report_id)'
            when current_reports.report_id is null
                then 'report superseded: its source has changed since; the current report_id is in marts.dim_report'
            when current_reports.document_kind <> 'annual_report'
                then 'not an annual report: no template cells or rules to override'
            when overrides.override = 'waiver' and overrides.target <> '*' and not exists (
                select 1 from checked
                where checked.report_id = overrides.report_id
                    and overrides.target in (checked.rule, checked.rule_instance)
            ) then 'the gate has no check ' || overrides.target || ' for this report: the waiver waives nothing'
        end as problem
    from overrides
    left join documents using (report_id)
    left join intermediate.int_reports_current as current_reports using (report_id)
)

select
    file, line, override, report_id, source_uri, target, problem,
    file || ':' || line || ': ' || override || ' ' || target || ' for ' || report_id || ': ' || problem as message
from judged
where problem is not null
"""


def write_override_warnings(conn) -> list[str]:
    """Replace ``quality.override_warnings`` from the checks in ``quality.rule_results``; return the
    warnings as lines for the run summary."""
    conn.execute(f"create or replace table quality.override_warnings as {WARNINGS_SQL}")
    return [m for (m,) in conn.execute("select message from quality.override_warnings order by file, line").fetchall()]
