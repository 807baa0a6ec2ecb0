-- W1_continuity input: a report's carried_over.total beside the carried_forward.total of the same
-- agency's report for the year before (the latest published one when there are several).
with reports as (
    select report_id, agency_name, year, published_on
    from {{ ref('int_annual_reports') }}
    where agency_name is not null and year is not null
),

totals as (
    select
        reports.*,
        max(values.value) filter (where values.metric_key = 'applications.carried_over.total') as carried_over_total,
        max(values.value) filter (where values.metric_key = 'applications.carried_forward.total') as carried_forward_total
    from reports
    left join {{ ref('int_metric_values') }} as values using (report_id)
    group by all
),

latest_per_year as (
    select *
    from totals
    qualify row_number() over (
        partition by agency_name, year order by published_on desc nulls last, report_id
    ) = 1
)

select
    current_year.report_id,
    current_year.agency_name,
    current_year.year,
    current_year.carried_over_total,
    previous_year.report_id as previous_report_id,
    previous_year.carried_forward_total as previous_carried_forward_total
from totals as current_year
inner join latest_per_year as previous_year
    on previous_year.agency_name = current_year.agency_name
    and previous_year.year = current_year.year - 1
