-- W1_continuity input: a report's carried_over.total beside the carried_forward.total of the same
-- resolved agency's report for the year before (int_agency_report_years), across name variants.
with reports as (
    select report_id, agency_id, agency_name, year
    from {{ ref('int_annual_reports') }}
    where agency_name is not null and year is not null
),

totals as (
    select
        report_id,
        max(value) filter (where metric_key = 'applications.carried_over.total') as carried_over_total,
        max(value) filter (where metric_key = 'applications.carried_forward.total') as carried_forward_total
    from {{ ref('int_metric_values') }}
    group by report_id
)

select
    reports.report_id,
    reports.agency_id,
    reports.agency_name,
    reports.year,
    current_totals.carried_over_total,
    previous_year.report_id as previous_report_id,
    previous_year.agency_name as previous_agency_name,
    previous_totals.carried_forward_total as previous_carried_forward_total
from reports
inner join {{ ref('int_agency_report_years') }} as previous_year
    on previous_year.agency_id = reports.agency_id
    and previous_year.year = reports.year - 1
left join totals as current_totals on current_totals.report_id = reports.report_id
left join totals as previous_totals on previous_totals.report_id = previous_year.report_id
