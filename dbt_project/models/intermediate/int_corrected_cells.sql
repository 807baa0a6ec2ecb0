-- Template cells of current annual reports with the maintainers' corrections applied
-- (a correction may also supply a cell extraction missed). Incremental by report (macros/incremental.sql).
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

cells as (
    select cells.*
    from {{ ref('stg_cells') }} as cells
    inner join reports using (report_id)
    inner join dictionary using (metric_key)  -- active.extra.* rows stay in staging only
),

corrections as (
    select corrections.*
    from {{ ref('stg_corrections') }} as corrections
    inner join reports using (report_id)
),

corrected as (
    select
        coalesce(cells.report_id, corrections.report_id) as report_id,
        coalesce(cells.metric_key, corrections.metric_key) as metric_key,
        cells.value as extracted_value,
        corrections.corrected_value,
        coalesce(corrections.corrected_value, cells.value) as value,
        corrections.report_id is not null as is_corrected,
        false as is_derived,
        cells.raw_text,
        cells.is_blank,
        cells.is_filled,
        cells.table_index,
        cells.row_index,
        cells.col_index,
        cells.row_label,
        cells.col_label
    from cells
    full outer join corrections
        on cells.report_id = corrections.report_id and cells.metric_key = corrections.metric_key
)

select * from corrected
