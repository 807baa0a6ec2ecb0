{#- Generic test: not_null of several columns of one model, in one data test (issue #11: each test node costs
    dbt about as much of its own work as its query does; one per model instead of one per column). A failing row
    per row and column that is null, the column named in `null_column`; the test's name (`name:` in the yml,
    not_null_<model>__<column>__…) names the columns it covers. One scan of the model, not one per column. -#}
{% test not_null_columns(model, columns) %}
select null_column
from (
    select unnest([{% for column in columns %}case when {{ column }} is null then '{{ column }}' end{{ ", " if not loop.last }}{% endfor %}]) as null_column
    from {{ model }}
)
where null_column is not null
{% endtest %}
