-- Every maintainer correction, the value it replaced and whether it applied to a current report
-- (when not, `warning` says why: quality.override_warnings).
with corrections as (
    select * from {{ ref('stg_corrections') }}
),

applied as (
    select report_id, metric_key, extracted_value
    from {{ ref('int_metric_values') }}
    where is_corrected
),

warnings as (
    select file, line, problem
    from {{ source('quality', 'override_warnings') }}
    where override = 'correction'
)

select
    corrections.report_id,
    corrections.metric_key,
    applied.extracted_value,
    corrections.corrected_value,
    corrections.correction_reason,
    corrections.corrected_by,
    corrections.loaded_from,
    corrections.line,
    applied.report_id is not null as is_applied,
    warnings.problem as warning
from corrections
left join applied using (report_id, metric_key)
left join warnings
    on warnings.file = corrections.loaded_from
    and warnings.line = corrections.line
