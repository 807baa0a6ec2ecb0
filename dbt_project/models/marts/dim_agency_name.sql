-- Every agency name variant as printed, with the agency it resolved to, why, and the current
-- reports that used it (a maintainer reads here what merged; quality.agency_review lists what did not).
with reports as (
    select agency_id, coalesce(agency_name, '(agency not named)') as agency_name, report_id, year
    from {{ ref('int_reports_current') }}
)

select
    reports.agency_name,
    reports.agency_id,
    coalesce(names.resolved_by, 'unresolved') as resolved_by,
    names.match_key,
    names.body_name,
    count(*) as n_reports,
    list(distinct reports.year order by reports.year) filter (where reports.year is not null) as years,
    list(reports.report_id order by reports.year, reports.report_id) as report_ids
from reports
left join {{ ref('int_agency_identity') }} as names using (agency_name)
group by all
