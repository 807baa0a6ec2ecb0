-- R0_extraction input: per current annual report x error-issue code met in this load, how many
-- error issues of that code the report has (0 for the others).
with reports as (
    select report_id
    from {{ ref('int_annual_reports') }}
),

errors as (
    select issues.report_id, issues.issue_code
    from {{ ref('stg_issues') }} as issues
    inner join reports using (report_id)
    where issues.severity = 'error'
),

codes as (
    select distinct issue_code from errors
)

select
    reports.report_id,
    codes.issue_code,
    count(errors.report_id) as error_issues
from reports
cross join codes
left join errors
    on errors.report_id = reports.report_id and errors.issue_code = codes.issue_code
group by reports.report_id, codes.issue_code
