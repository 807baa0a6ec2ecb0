{{ config(materialized="view", meta={"tested_reports": "int_build_reports"}) }}  {#- its rows: int_metric_values' #}
-- R5_domain input: each extracted (or corrected) cell beside the nearest value its domain allows
-- (a view: a 1:1 projection of int_metric_values, read once by the gate):
-- counts non-negative integers, amounts non-negative, `change` any integer, and every value within
-- the dictionary's plausible bound (|value| <= max_value), so e.g. a fee of 1e30 万元 fails.
with metric_values as (
    select report_id, metric_key, value
    from {{ ref('int_metric_values') }}
    where not is_derived
),

dictionary as (
    select metric_key, value_type, max_value from {{ ref('metric_dictionary') }}
)

select
    metric_values.report_id,
    metric_values.metric_key,
    dictionary.value_type,
    metric_values.value,
    dictionary.max_value,
    case dictionary.value_type
        when 'count' then least(greatest(round(metric_values.value), 0), dictionary.max_value)
        when 'amount' then least(greatest(metric_values.value, 0), dictionary.max_value)
        else least(greatest(round(metric_values.value), -dictionary.max_value), dictionary.max_value)
    end as nearest_valid_value
from metric_values
inner join dictionary using (metric_key)
