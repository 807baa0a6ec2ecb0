-- Table 三 wide: one row per current annual report x applicant column, one column per row of
-- the table (R1_balance and R3_outcome_total read this). `other` is harmonised across versions.
-- A missing cell stays NULL, so the gate fails the identity instead of reading a zero.
-- Incremental by report (macros/incremental.sql).
{{ by_report('int_annual_reports') }}
with reports as (
    select report_id, template_version
    from {{ ref('int_annual_reports') }}
    where {{ new_reports() }}
),

applicant_columns as (
    select distinct column_key as applicant_column
    from {{ ref('metric_dictionary') }}
    where table_key = 'applications'
),

applications as (
    select report_id, row_key, column_key, value
    from {{ ref('int_metric_values') }}
    where table_key = 'applications' and {{ new_reports() }}
),

wide as (
    select
        report_id,
        column_key,
        {{ pivot_values('row_key', template_keys('row_key', 'applications')) }}
    from applications
    group by report_id, column_key
)

select
    reports.report_id,
    reports.template_version,
    applicant_columns.applicant_column,
    wide.* exclude (report_id, column_key)
from reports
cross join applicant_columns
left join wide
    on wide.report_id = reports.report_id and wide.column_key = applicant_columns.applicant_column
