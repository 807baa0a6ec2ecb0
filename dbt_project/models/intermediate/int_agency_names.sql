-- The matching rule, per agency name as printed: its region (int_agency_regions), its body name
-- (the name without the names of its own province / city / county wherever they stand: 厦门市集美区X,
-- 集美区X and 国家税务总局厦门市集美区税务局 / 国家税务总局集美区税务局 agree; spaces and bracket
-- widths normalised, a known abbreviation spelt out by the agency_name_abbreviations seed), its
-- kind, and match_key = division_code + body name. Two names with the same match_key are one
-- agency; a name without a division_code (no or an ambiguous region) or without a body has no
-- match_key and stays an agency of its own (listed in quality.agency_review).
with regions as (
    select * from {{ ref('int_agency_regions') }}
),

divisions as (
    select * from {{ ref('admin_divisions') }}
),

-- the names of the agency's own province, city and county (福建省, 福建, 厦门市, 厦门, 集美区)
region_names as (
    select regions.agency_name, divisions.division_name as region_name
    from regions
    inner join divisions
        on (divisions.division_level = 'province' and divisions.province = regions.province)
        or (divisions.division_level = 'city' and divisions.city = regions.city and divisions.province = regions.province)
        or (divisions.division_level = 'county' and divisions.county = regions.county and divisions.city = regions.city)
    union all
    select regions.agency_name, divisions.short_name
    from regions
    inner join divisions
        on coalesce(divisions.short_name, '') <> ''
        and ((divisions.division_level = 'province' and divisions.province = regions.province)
            or (divisions.division_level = 'city' and divisions.city = regions.city and divisions.province = regions.province))
),

region_patterns as (
    select agency_name, string_agg(region_name, '|' order by length(region_name) desc) as pattern
    from region_names
    group by agency_name
),

bodies as (
    select
        regions.*,
        replace(replace(regexp_replace(
            regexp_replace(regions.agency_name, coalesce(region_patterns.pattern, '^$'), '', 'g'),
            '\s+', '', 'g'), '（', '('), '）', ')') as printed_body
    from regions
    left join region_patterns using (agency_name)
),

spelt_out as (
    select
        bodies.* exclude (printed_body),
        coalesce(abbreviations.full_name, bodies.printed_body) as body_name
    from bodies
    left join {{ ref('agency_name_abbreviations') }} as abbreviations
        on abbreviations.abbreviation = bodies.printed_body
)

select
    agency_name,
    province,
    city,
    county,
    division_code,
    division_level,
    candidate_divisions,
    body_name,
    case
        when regexp_matches(body_name, '(镇|乡)(人民)?政府$|街道(办事处)?$') then 'township'
        when body_name = '人民政府' then 'government'
        when body_name in ('人民政府办公室', '人民政府办公厅') then 'government_office'
        when regexp_matches(body_name, '(开发区|投资区|实验区|新区|经济区).*(管理委员会|管委会)$') then 'other'
        when regexp_matches(body_name, '(局|委员会|委|厅|办公室|办|中心|署|院|所|队)$') then 'department'
        else 'other'
    end as agency_kind,
    nullif(regexp_extract(body_name, '^(.+?(镇|乡|街道))((人民)?政府|办事处)?$', 1), '') as township,
    case when division_code is not null and body_name <> '' then division_code || ' ' || body_name end as match_key
from spelt_out
