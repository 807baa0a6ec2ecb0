-- Each agency name's agency_id: by the matching rule (int_agency_names.match_key), else its own
-- name; then the maintainers' overrides (int_agency_overrides): a split keeps the name's own, a
-- merge takes the agency same_as has after splits (one hop: point same_as at a name that is not
-- itself merged). resolved_by says which decided.
with names as (
    select * from {{ ref('int_agency_names') }}
),

-- the last line per name decides; one that cannot apply leaves the rule's agency (see the audit)
last_lines as (
    select *
    from {{ ref('int_agency_overrides') }}
    where agency_name is not null
    qualify row_number() over (partition by agency_name order by override_line desc) = 1
),

overrides as (
    select *
    from last_lines
    where action = 'split' or (action = 'merge' and same_as in (select agency_name from names))
),

by_rule as (
    select
        names.*,
        case when match_key is not null then {{ agency_id('match_key') }} else {{ agency_id('agency_name') }} end as rule_agency_id,
        overrides.action,
        overrides.same_as
    from names
    left join overrides using (agency_name)
),

after_splits as (
    select
        *,
        case when action = 'split' then {{ agency_id('agency_name') }} else rule_agency_id end as split_agency_id
    from by_rule
)

select
    after_splits.* exclude (action, same_as, split_agency_id),
    case when after_splits.action = 'merge' then targets.split_agency_id else after_splits.split_agency_id end as agency_id,
    case
        when after_splits.action is not null then 'override_' || after_splits.action
        when after_splits.match_key is not null then 'rule'
        else 'unresolved'
    end as resolved_by
from after_splits
left join after_splits as targets on targets.agency_name = after_splits.same_as
