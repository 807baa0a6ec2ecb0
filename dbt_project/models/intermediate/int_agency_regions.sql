-- Each agency name resolved to province / city / county through the admin_divisions seed:
-- the most specific division named in it wins (a county whose city or province is also named
-- beats a homonym, then the longer name: 东西湖区 over 西湖区); when the best candidates disagree on a level, that level stays NULL.
with agencies as (
    select distinct agency_name
    from {{ ref('int_source_reports') }}
    where agency_name is not null
),

divisions as (
    select * from {{ ref('admin_divisions') }}
),

names as (
    select division_name, division_level, province, city, county, division_name as match_name
    from divisions
    union all
    select division_name, division_level, province, city, county, short_name as match_name
    from divisions
    where coalesce(short_name, '') <> ''
),

matches as (
    select agencies.agency_name, names.division_name, names.division_level,
        names.province, names.city, names.county, max(length(names.match_name)) as match_length
    from agencies
    inner join names on contains(agencies.agency_name, names.match_name)
    group by all
),

scored as (
    select
        matches.*,
        case division_level when 'province' then 10 when 'city' then 20 else 30 end
        + case when division_level in ('county', 'zone') and exists (
                select 1 from matches as parent
                where parent.agency_name = matches.agency_name
                    and parent.division_level = 'city' and parent.city = matches.city
            ) then 2 else 0 end
        + case when division_level <> 'province' and exists (
                select 1 from matches as parent
                where parent.agency_name = matches.agency_name
                    and parent.division_level = 'province' and parent.province = matches.province
            ) then 1 else 0 end
        + match_length / 100.0 as score
    from matches
),

best as (
    select *
    from scored
    qualify score = max(score) over (partition by agency_name)
)

select
    agency_name,
    case when count(distinct province) = 1 then min(province) end as province,
    case when count(distinct coalesce(city, '')) = 1 then min(city) end as city,
    case when count(distinct coalesce(county, '')) = 1 then min(county) end as county,
    count(*) as candidate_divisions
from best
group by agency_name
