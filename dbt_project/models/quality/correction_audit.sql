-- Every maintainer correction, the value it replaced and whether it applied to a current report.
with corrections as (
    select * from {{ ref('stg_corrections') }}
),

applied as (
    select report_id, metric_key, extracted_value
    from {{ ref('int_metric_values') }}
    where is_corrected
)

select
    corrections.report_id,
    corrections.metric_key,
    applied.extracted_value,
    corrections.corrected_value,
    corrections.correction_reason,
    corrections.corrected_by,
    corrections.loaded_from,
    applied.report_id is not null as is_applied
from corrections
left join applied using (report_id, metric_key)
