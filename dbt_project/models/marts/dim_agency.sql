-- One row per agency named by a source's current document (retired ones too, so every
-- dim_report row has its agency), with its administrative region.
with reports as (
    select distinct agency_id, agency_name from {{ ref('int_source_reports') }}
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
