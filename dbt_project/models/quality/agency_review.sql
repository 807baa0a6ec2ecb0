-- Agency names the matching rule left separate and a maintainer should look at (then merge or
-- split in overrides/agency_identity.csv): no region, an ambiguous region, nothing left after the
-- region, or a name in the same division and of the same kind as another agency's that is close to it
-- (Jaro-Winkler >= 0.8 or one contains the other: 发改局 / 发展改革局, 审批局 / 行政审批管理局).
with names as (
    select identity.*
    from {{ ref('int_agency_identity') }} as identity
    where identity.agency_name in (select agency_name from {{ ref('int_reports_current') }})
        and identity.resolved_by <> 'override_split'
),

unplaced as (
    select
        agency_name,
        agency_id,
        case
            when coalesce(candidate_divisions, 0) = 0 then 'no_region'
            when division_code is null then 'ambiguous_region'
            else 'no_body_name'
        end as reason,
        case
            when coalesce(candidate_divisions, 0) = 0 then 'names no division of the admin_divisions seed'
            when division_code is null then candidate_divisions || ' divisions fit equally well'
            else 'only the region is named'
        end as detail,
        cast(null as varchar) as similar_to
    from names
    where match_key is null and resolved_by = 'unresolved'
),

similar_names as (
    select
        one.agency_name,
        one.agency_id,
        'similar_name' as reason,
        'same division ' || one.division_code || ', body ' || one.body_name || ' ~ ' || other.body_name as detail,
        other.agency_name as similar_to
    from names as one
    inner join names as other
        on other.division_code = one.division_code
        and other.agency_id <> one.agency_id
        and other.agency_kind = one.agency_kind
    where jaro_winkler_similarity(one.body_name, other.body_name) >= 0.8
        or contains(one.body_name, other.body_name) or contains(other.body_name, one.body_name)
)

select * from unplaced
union all
select * from similar_names
