-- Coverage: for each region (the agency's GB/T 2260 division) and year, the agencies that
-- published an annual report the year before and have none this year. A year counts for a region
-- only when some agency of that region has a report for it (a year not collected yet is no gap).
with report_years as (
    select distinct agency_id, year
    from {{ ref('int_annual_reports') }}
    where agency_name is not null and year is not null
),

agencies as (
    select agency_id, agency_name, agency_kind, province, city, county, division_code
    from {{ ref('dim_agency') }}
),

region_years as (
    select distinct agencies.division_code, report_years.year
    from report_years
    inner join agencies using (agency_id)
)

select
    agencies.province,
    agencies.city,
    agencies.county,
    agencies.division_code,
    region_years.year,
    agencies.agency_id,
    agencies.agency_name,
    agencies.agency_kind,
    last_year.year as last_report_year
from report_years as last_year
inner join agencies using (agency_id)
inner join region_years
    on region_years.division_code is not distinct from agencies.division_code
    and region_years.year = last_year.year + 1
where not exists (
    select 1 from report_years as this_year
    where this_year.agency_id = last_year.agency_id and this_year.year = last_year.year + 1
)
