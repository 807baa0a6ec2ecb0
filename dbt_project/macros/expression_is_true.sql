{#- Generic test: rows where the expression is false (or NULL) fail. Used for identities. -#}
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}
