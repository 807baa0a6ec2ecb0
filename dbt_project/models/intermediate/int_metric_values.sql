-- Template cells of current annual reports with corrections applied, plus the harmonised
-- applications.other.* of 2021 reports (sum of the three other_* rows, only when all three exist).
-- (Two models, not one: DuckDB 2.0's statistics propagation fails binding the union when the
-- corrected cells are known to be empty.) Incremental by report (macros/incremental.sql).
{{ by_report('int_annual_reports', lists_reports=false) }}
with reports as (
    select report_id, template_version
    from {{ ref('int_annual_reports') }}
    where {{ new_reports() }}
),

dictionary as (
    select metric_key, table_key, row_key, column_key
    from {{ ref('metric_dictionary') }}
),

corrected as (
    select * from {{ ref('int_corrected_cells') }}
    where {{ new_reports() }}
),

derived as (
    select
        corrected.report_id,
        'applications.other.' || split_part(corrected.metric_key, '.', 3) as metric_key,
        null::double as extracted_value,
        null::double as corrected_value,
        sum(corrected.value) as value,
        false as is_corrected,
        true as is_derived,
        null as raw_text,
        null::boolean as is_blank,
        null::boolean as is_filled,
        null::integer as table_index,
        null::integer as row_index,
        null::integer as col_index,
        null as row_label,
        null as col_label
    from corrected
    inner join reports using (report_id)
    where reports.template_version = '2021'
        and split_part(corrected.metric_key, '.', 1) = 'applications'
        and split_part(corrected.metric_key, '.', 2) in ('other_overdue_correction', 'other_unpaid_fee', 'other_misc')
    group by corrected.report_id, split_part(corrected.metric_key, '.', 3)
    having count(*) = 3
),

unioned as (
    select * from corrected
    union all by name
    select * from derived
)

select
    unioned.*,
    dictionary.table_key,
    dictionary.row_key,
    dictionary.column_key
from unioned
inner join dictionary using (metric_key)
