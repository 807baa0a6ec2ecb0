{{ config(materialized="view") }}
-- R5_domain input: each extracted (or corrected) cell beside the nearest value its type allows
-- (a view: a 1:1 projection of int_metric_values, read once by the gate):
-- counts non-negative integers, amounts non-negative, `change` any integer.
with metric_values as (
    select report_id, metric_key, value
    from {{ ref('int_metric_values') }}
    where not is_derived
),

dictionary as (
    select metric_key, value_type from {{ ref('metric_dictionary') }}
)

select
    metric_values.report_id,
    metric_values.metric_key,
    dictionary.value_type,
    metric_values.value,
    case dictionary.value_type
        when 'count' then greatest(round(metric_values.value), 0)
        when 'amount' then greatest(metric_values.value, 0)
        else round(metric_values.value)
    end as nearest_valid_value
from metric_values
inner join dictionary using (metric_key)
