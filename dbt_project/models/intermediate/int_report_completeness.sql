-- Per current annual report x table: template cells expected for its version and cells present
-- (R6_complete reads this). An undetected version expects NULL cells, so R6 fails it.
-- Incremental by report (macros/incremental.sql).
{{ by_report('int_annual_reports') }}
with reports as (
    select report_id, template_version
    from {{ ref('int_annual_reports') }}
    where {{ new_reports() }}
),

dictionary as (
    select * from {{ ref('metric_dictionary') }}
),

tables as (
    select distinct table_key from dictionary
),

expected as (
    select reports.report_id, dictionary.table_key, dictionary.metric_key
    from reports
    inner join dictionary
        on {{ in_versions('reports.template_version', 'dictionary.template_versions') }}
),

present as (
    select report_id, metric_key
    from {{ ref('int_metric_values') }}
    where not is_derived and {{ new_reports() }}
)

select
    reports.report_id,
    reports.template_version,
    tables.table_key,
    count(present.metric_key) as present_cells,
    case when reports.template_version is not null then count(expected.metric_key) end as expected_cells
from reports
cross join tables
left join expected
    on expected.report_id = reports.report_id and expected.table_key = tables.table_key
left join present
    on present.report_id = expected.report_id and present.metric_key = expected.metric_key
group by reports.report_id, reports.template_version, tables.table_key
