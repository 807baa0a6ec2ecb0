-- Every maintainer agency merge or split (int_agency_overrides), whether it applied, and if not why;
-- the agency the matching rule gave the name and the one it has now.
with overrides as (
    select * from {{ ref('int_agency_overrides') }}
),

names as (
    select * from {{ ref('int_agency_identity') }}
),

checked as (
    select
        overrides.*,
        case
            when overrides.agency_name is null then 'agency_name is empty'
            when overrides.action not in ('merge', 'split') or overrides.action is null
                then 'action must be merge or split'
            when names.agency_name is null then 'no landed document names this agency'
            when overrides.action = 'merge' and overrides.same_as is null then 'a merge needs same_as'
            when overrides.action = 'merge' and overrides.same_as not in (select agency_name from names)
                then 'no landed document names same_as'
            when row_number() over (partition by overrides.agency_name order by overrides.override_line desc) > 1
                then 'a later line for the same agency_name wins'
        end as problem,
        names.rule_agency_id,
        names.agency_id
    from overrides
    left join names using (agency_name)
)

select
    override_line,
    agency_name,
    action,
    same_as,
    reason,
    decided_by,
    problem is null as is_applied,
    problem,
    rule_agency_id as agency_id_by_rule,
    agency_id
from checked
