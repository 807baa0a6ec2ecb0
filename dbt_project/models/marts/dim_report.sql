-- One row per source document (its current version) with the gate's verdict. The one place a verdict
-- is derived: the checks, the alerts, the batch gate (quality.batch_counts) and the refresh summary read it.
-- not_applicable for non-reports; quarantined when a hard rule failed and no waiver covers it
-- (or when the gate produced no result for it); passed otherwise. The gate marks waived failures.
-- retired: the source left the manifest (its last current report, kept for history, not gated).
-- One row per report page: report_source says whether its cells come from the page or the attachment
-- (attachment_uri, attachment_format; int_source_reports picks it).
with reports as (
    select * from {{ ref('int_source_reports') }}
),

results as (
    select * from {{ source('quality', 'rule_results') }}
),

hard_failures as (
    select
        results.report_id,
        results.rule || ':' || results.instance as failure,
        results.waived as is_waived
    from results
    where results.severity = 'hard' and not results.passed
),

verdicts as (
    select
        results.report_id,
        count(*) as rule_checks,
        count(*) filter (where results.severity = 'soft' and not results.passed) as soft_warnings
    from results
    group by results.report_id
),

failures as (
    select
        report_id,
        list(failure order by failure) filter (where not is_waived) as failed_rules,
        list(failure order by failure) filter (where is_waived) as waived_failures
    from hard_failures
    group by report_id
)

select
    reports.report_id,
    reports.source_uri,
    reports.content_hash,
    reports.source_version,
    reports.parser_version,
    reports.document_kind,
    reports.template_version,
    reports.agency_id,
    reports.agency_name,
    reports.year,
    reports.published_on,
    reports.title,
    reports.input_format,
    reports.n_cells,
    reports.n_issues,
    reports.n_errors,
    reports.report_source,
    reports.page_uri,
    reports.attachment_uri,
    reports.attachment_format,
    case
        when reports.is_retired then 'retired'
        when reports.document_kind <> 'annual_report' then 'not_applicable'
        when coalesce(verdicts.rule_checks, 0) = 0 then 'quarantined'
        when len(coalesce(failures.failed_rules, [])) > 0 then 'quarantined'
        else 'passed'
    end as gate_status,
    case
        when reports.is_retired then []::varchar[]
        when reports.document_kind = 'annual_report' and coalesce(verdicts.rule_checks, 0) = 0
            then ['no_gate_result']
        else coalesce(failures.failed_rules, [])
    end as failed_rules,
    coalesce(failures.waived_failures, []) as waived_failures,
    coalesce(verdicts.soft_warnings, 0) as soft_warnings,
    reports.landed_at
from reports
left join verdicts using (report_id)
left join failures using (report_id)
