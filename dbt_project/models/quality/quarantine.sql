-- Why each quarantined report is held back: its failing hard rule instances not covered by a waiver,
-- and the maintainers' overrides for its source that take no effect (e.g. a waiver of an instance
-- the gate never checked, a correction of an older version of the page).
with quarantined as (
    select report_id, source_uri, agency_name, year, failed_rules
    from {{ ref('dim_report') }}
    where gate_status = 'quarantined'
),

results as (
    select * from {{ source('quality', 'rule_results') }}
    where severity = 'hard' and not passed
),

override_warnings as (
    select source_uri, list(message order by file, line) as override_warnings
    from {{ source('quality', 'override_warnings') }}
    where source_uri is not null
    group by source_uri
)

select
    quarantined.report_id,
    quarantined.source_uri,
    quarantined.agency_name,
    quarantined.year,
    coalesce(results.rule, 'no_gate_result') as rule,
    results.instance,
    results.lhs,
    results.rhs,
    override_warnings.override_warnings
from quarantined
left join results
    on results.report_id = quarantined.report_id
    and not results.waived
left join override_warnings
    on override_warnings.source_uri = quarantined.source_uri
