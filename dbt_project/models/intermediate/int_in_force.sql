-- W4_in_force input (2021 template, same resolved agency, consecutive years): per report and row
-- (rules, normative_docs) in_force of N beside in_force of N-1 + issued of N - repealed of N.
with reports as (
    select report_id, agency_id, year
    from {{ ref('int_annual_reports') }}
    where template_version = '2021' and agency_name is not null and year is not null
),

active as (
    select report_id, row_key, issued, repealed, in_force
    from {{ ref('int_active_disclosure') }}
    where template_version = '2021' and row_key in ('rules', 'normative_docs')
)

select
    reports.report_id,
    reports.agency_id,
    reports.year,
    active.row_key,
    active.in_force,
    active.issued,
    active.repealed,
    previous_year.report_id as previous_report_id,
    previous_active.in_force as previous_in_force,
    previous_active.in_force + active.issued - active.repealed as expected_in_force
from reports
inner join active using (report_id)
inner join {{ ref('int_agency_report_years') }} as previous_year
    on previous_year.agency_id = reports.agency_id
    and previous_year.year = reports.year - 1
    and previous_year.template_version = '2021'
left join active as previous_active
    on previous_active.report_id = previous_year.report_id
    and previous_active.row_key = active.row_key
