-- Each agency name resolved to province / city / county and its GB/T 2260 division_code through the
-- admin_divisions seed: the most specific division named in it wins (a county whose city or
-- province is also named beats a homonym, then the longer name: 东西湖区 over 西湖区); when the best
-- candidates disagree on a level, that level stays NULL, and division_code is NULL unless they agree
-- on one division; a name naming no division gets NULLs and candidate_divisions 0. A
-- two-character district (城区, 东区) counts only with its city named.
-- Names come from every landed document (not only current ones) so int_reports_current can read
-- the resolved agency without a cycle.
with agencies as (
    select distinct agency_name
    from {{ ref('stg_documents') }}
    where agency_name is not null
),

divisions as (
    select * from {{ ref('admin_divisions') }}
),

names as (
    select division_code, division_name, division_level, province, city, county, division_name as match_name
    from divisions
    union all
    select division_code, division_name, division_level, province, city, county, short_name as match_name
    from divisions
    where coalesce(short_name, '') <> ''
),

all_matches as (
    select agencies.agency_name, names.division_code, names.division_name, names.division_level,
        names.province, names.city, names.county, max(length(names.match_name)) as match_length
    from agencies
    inner join names on contains(agencies.agency_name, names.match_name)
    group by all
),

matches as (
    select *
    from all_matches
    where not (division_level = 'county' and length(division_name) = 2 and division_name like '%区')
        or exists (
            select 1 from all_matches as parent
            where parent.agency_name = all_matches.agency_name
                and parent.division_level = 'city' and parent.city = all_matches.city
        )
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
    agencies.agency_name,
    case when count(distinct best.province) = 1 then min(best.province) end as province,
    case when count(distinct coalesce(best.city, '')) = 1 then min(best.city) end as city,
    case when count(distinct coalesce(best.county, '')) = 1 then min(best.county) end as county,
    case when count(distinct best.division_code) = 1 then min(best.division_code) end as division_code,
    case when count(distinct best.division_level) = 1 then min(best.division_level) end as division_level,
    count(best.division_name) as candidate_divisions
from agencies
left join best using (agency_name)
group by agencies.agency_name
