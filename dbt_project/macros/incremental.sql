{#- Incremental by report (issue #11). A report_id is a hash of its source and content, so a report's
    landed rows never change under the same id: a model whose rows for a report depend only on that
    report's rows, the seeds and the overrides adds the current reports it does not hold yet and deletes
    those that left the current set, and does nothing for the rest. Anything else that changes such rows
    (the models, seeds, parser version, corrections, waivers, agency overrides) makes the refresh rebuild
    everything: `dbt build --full-refresh` (orchestration/warehouse/dbt_state.py decides). -#}

{#- config for a model kept incremental by report: rows of reports that left `current` (a model) are deleted -#}
{% macro by_report(current, strategy='append') -%}
{{ config(materialized='incremental', unique_key='report_id', incremental_strategy=strategy,
          on_schema_change='fail',
          post_hook="{{ delete_reports_not_in('" ~ current ~ "') }}") }}
{%- endmacro %}

{#- a filter on `column`: on an incremental run, only reports the model does not hold yet -#}
{% macro new_reports(column='report_id') -%}
{%- if is_incremental() %} {{ column }} not in (select report_id from {{ this }}) {% else %} true {% endif -%}
{%- endmacro %}

{% macro delete_reports_not_in(current) -%}
delete from {{ this }} where report_id not in (select report_id from {{ ref(current) }})
{%- endmacro %}
