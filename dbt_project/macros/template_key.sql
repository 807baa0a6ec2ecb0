{#- Generic test: every value of the column is a row or column key (`key_column`) of `table_key` in
    the metric_dictionary seed, the one source of the template's keys. -#}
{% test template_key(model, column_name, table_key, key_column) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} not in (
    select {{ key_column }} from {{ ref('metric_dictionary') }} where table_key = '{{ table_key }}'
)
{% endtest %}
