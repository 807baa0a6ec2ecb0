-- Each agency name's agency_id: by the matching rule (int_agency_names.match_key), else its own
-- name; then the maintainers' overrides (int_agency_overrides): a merge takes the agency of
-- same_as, a split keeps the name's own. resolved_by says which decided.
with names as (
    select * from {{ ref('int_agency_names') }}
),

by_rule as (
    select
        names.*,
        case when match_key is not null then {{ agency_id('match_key') }} else {{ agency_id('agency_name') }} end as rule_agency_id
    from names
),

overrides as (
    select *
    from {{ ref('int_agency_overrides') }}
    where agency_name is not null
        and (action = 'split' or (action = 'merge' and same_as in (select agency_name from names)))
    qualify row_number() over (partition by agency_name order by override_line desc) = 1
)

select
    by_rule.*,
    case
        when overrides.action = 'merge' then targets.rule_agency_id
        when overrides.action = 'split' then {{ agency_id('by_rule.agency_name') }}
        else by_rule.rule_agency_id
    end as agency_id,
    case
        when overrides.action is not null then 'override_' || overrides.action
        when by_rule.match_key is not null then 'rule'
        else 'unresolved'
    end as resolved_by
from by_rule
left join overrides using (agency_name)
left join by_rule as targets on targets.agency_name = overrides.same_as
