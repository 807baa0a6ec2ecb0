-- W5_timeliness input: each annual report's publish date against the 条例's deadline for its
-- agency's kind: 31 March of N+1 for a government's report (county level or above: township
-- governments are kind township), 31 January of N+1 for everyone else's (departments, offices,
-- townships and streets, zones). days_late is NULL when the page gives no date: the rule fails it.
with reports as (
    select
        reports.report_id,
        reports.agency_id,
        reports.year,
        coalesce(names.agency_kind, 'other') as agency_kind,
        reports.published_on
    from {{ ref('int_annual_reports') }} as reports
    left join {{ ref('int_agency_identity') }} as names using (agency_name)
    where reports.year is not null
),

deadlines as (
    select *, make_date(year + 1, case when agency_kind = 'government' then 3 else 1 end, 31) as deadline
    from reports
)

select *, datediff('day', deadline, published_on) as days_late
from deadlines
