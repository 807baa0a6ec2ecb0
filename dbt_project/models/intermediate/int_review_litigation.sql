-- Table 四 wide: one row per current annual report x review/litigation row (R4_review_total reads this).
with reports as (
    select report_id, template_version
    from {{ ref('int_reports_current') }}
    where document_kind = 'annual_report'
),

template_rows as (
    select distinct reports.report_id, reports.template_version, dictionary.row_key
    from reports
    inner join {{ ref('metric_dictionary') }} as dictionary
        on dictionary.table_key = 'review_litigation'
        and {{ in_versions('reports.template_version', 'dictionary.template_versions') }}
),

wide as (
    select
        report_id,
        row_key,
        {{ pivot_values('column_key', review_columns()) }}
    from {{ ref('int_metric_values') }}
    where table_key = 'review_litigation'
    group by report_id, row_key
)

select
    template_rows.report_id,
    template_rows.template_version,
    template_rows.row_key,
    wide.* exclude (report_id, row_key)
from template_rows
left join wide using (report_id, row_key)
