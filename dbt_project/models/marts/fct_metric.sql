-- Report x metric for gate-passed reports only, each value with its provenance.
-- Incremental by report (macros/incremental.sql): an incremental run (re)writes the passed reports it does
-- not hold with the same report-level columns (fct_metric_build_reports: new, newly passed, or re-resolved to
-- another agency or year; its data tests check only these) and deletes the reports that are no longer passed.
{{ config(materialized='incremental', unique_key='report_id', incremental_strategy='delete+insert',
          on_schema_change='fail', meta={'tested_reports': 'fct_metric_build_reports'},
          post_hook="delete from {{ this }} as held where not exists (select 1 from {{ ref('dim_report') }} as report
                     where report.report_id = held.report_id and report.gate_status = 'passed')") }}
with passed_reports as (
    select * from {{ ref('fct_metric_build_reports') }}
),

metric_values as (
    select * from {{ ref('int_metric_values') }}
    where report_id in (select report_id from passed_reports)
)

select
    metric_values.report_id,
    passed_reports.agency_id,
    passed_reports.year,
    metric_values.metric_key,
    metric_values.value,
    metric_values.table_key,
    metric_values.row_key,
    metric_values.column_key,
    passed_reports.template_version,
    metric_values.is_derived,
    metric_values.is_corrected,
    metric_values.extracted_value,
    metric_values.raw_text,
    metric_values.is_blank,
    metric_values.is_filled,
    metric_values.table_index,
    metric_values.row_index,
    metric_values.col_index,
    metric_values.row_label,
    metric_values.col_label,
    passed_reports.source_uri,
    passed_reports.content_hash,
    passed_reports.parser_version
from metric_values
inner join passed_reports using (report_id)
