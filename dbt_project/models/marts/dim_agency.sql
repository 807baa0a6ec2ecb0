-- One row per agency named by a current document, with its administrative region.
with reports as (
    select distinct agency_id, agency_name from {{ ref('int_reports_current') }}
),

regions as (
    select * from {{ ref('int_agency_regions') }}
)

select
    reports.agency_id,
    coalesce(reports.agency_name, '(agency not named)') as agency_name,
    regions.province,
    regions.city,
    regions.county,
    coalesce(regions.candidate_divisions, 0) as candidate_divisions
from reports
left join regions using (agency_name)
