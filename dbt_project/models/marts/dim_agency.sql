-- One row per agency: a real body across its name variants and years (int_agency_identity), with
-- its region as GB/T 2260 division (admin_divisions), its kind and the names it was printed under;
-- agencies of retired sources too, so every dim_report row has its agency.
-- agency_name is the variant its latest report uses.
with reports as (
    select agency_id, coalesce(agency_name, '(agency not named)') as agency_name, year
    from {{ ref('int_source_reports') }}
),

variants as (
    select agency_id, agency_name, count(*) as n_reports, max(year) as last_year
    from reports
    group by all
),

display as (
    select *
    from variants
    qualify row_number() over (
        partition by agency_id order by last_year desc nulls last, n_reports desc, length(agency_name) desc, agency_name
    ) = 1
),

variant_lists as (
    select agency_id, list(agency_name order by agency_name) as name_variants
    from variants
    group by agency_id
)

select
    display.agency_id,
    display.agency_name,
    names.province,
    names.city,
    names.county,
    names.township,
    names.division_code,
    names.division_level,
    coalesce(names.agency_kind, 'other') as agency_kind,
    coalesce(names.resolved_by, 'unresolved') as resolved_by,
    variant_lists.name_variants,
    len(variant_lists.name_variants) as n_name_variants,
    coalesce(names.candidate_divisions, 0) as candidate_divisions
from display
inner join variant_lists using (agency_id)
left join {{ ref('int_agency_identity') }} as names on names.agency_name = display.agency_name
