-- W3_narrative input: per current annual report and metric its narrative states a number for, the
-- stated number furthest from the table's value (so any claim that disagrees fails), beside that
-- value after corrections (NULL when the table lacks the cell: the rule then fails, as R6 does).
-- Incremental by report (macros/incremental.sql).
{{ by_report('int_annual_reports', lists_reports=false) }}
with reports as (
    select report_id
    from {{ ref('int_annual_reports') }}
    where {{ new_reports() }}
),

claims as (
    select claims.*
    from {{ ref('stg_claims') }} as claims
    inner join reports using (report_id)
),

table_values as (
    select report_id, metric_key, value as table_value
    from {{ ref('int_metric_values') }}
    where {{ new_reports() }}
),

compared as (
    select
        claims.report_id,
        claims.metric_key,
        claims.stated_value,
        claims.stated_text,
        claims.text_line,
        table_values.table_value,
        count(*) over (partition by claims.report_id, claims.metric_key) as n_claims
    from claims
    left join table_values using (report_id, metric_key)
    qualify row_number() over (
        partition by claims.report_id, claims.metric_key
        order by abs(claims.stated_value - table_values.table_value) desc nulls first, claims.claim_seq
    ) = 1
)

select * from compared
