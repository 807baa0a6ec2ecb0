-- Why each quarantined report is held back: its failing hard rule instances not covered by a waiver.
with quarantined as (
    select report_id, source_uri, agency_name, year, failed_rules
    from {{ ref('dim_report') }}
    where gate_status = 'quarantined'
),

results as (
    select * from {{ source('quality', 'rule_results') }}
    where severity = 'hard' and not passed
)

select
    quarantined.report_id,
    quarantined.source_uri,
    quarantined.agency_name,
    quarantined.year,
    coalesce(results.rule, 'no_gate_result') as rule,
    results.instance,
    results.lhs,
    results.rhs
from quarantined
left join results
    on results.report_id = quarantined.report_id
    and not results.waived
