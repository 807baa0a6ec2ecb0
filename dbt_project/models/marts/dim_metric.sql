-- One row per canonical metric key, straight from the metric_dictionary seed.
with dictionary as (
    select * from {{ ref('metric_dictionary') }}
)

select
    metric_key,
    table_key,
    row_key,
    column_key,
    label_zh,
    label_en,
    row_label_zh,
    column_label_zh,
    unit,
    value_type,
    template_versions,
    derived_in_versions,
    sort_order,
    cast(max_value as bigint) as max_value  -- a whole-number bound (R5_domain)
from dictionary
