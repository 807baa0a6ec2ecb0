{#- Incremental by report (issue #11). A report_id is a hash of its source and content, so a report's
    landed rows never change under the same id: a model whose rows for a report depend only on that
    report's rows, the seeds and the overrides adds the current reports it does not hold yet and deletes
    those that left the current set, and does nothing for the rest. Anything else that changes such rows
    (the models, seeds, parser version, corrections, waivers, agency overrides) makes the refresh rebuild
    everything: `dbt build --full-refresh` (orchestration/dbt_builds.py decides). -#}

{#- config for a model kept incremental by report: rows of reports that left `current` (a model) are deleted -#}
{% macro by_report(current, strategy='append') -%}
{{ config(materialized='incremental', unique_key='report_id', incremental_strategy=strategy,
          on_schema_change='fail',
          post_hook="{{ delete_reports_not_in('" ~ current ~ "') }}") }}
{%- endmacro %}

{#- a filter on `column`: on an incremental run, only the current reports the model does not hold yet.
    Anti joins (`not exists`), never `not in (select report_id from {{ this }})`: DuckDB runs that as a mark
    join over every row the model holds, null semantics included, which took 45 s of a 1 %-changed
    refresh at 100k reports for int_metric_values alone where this takes 0.3 s (tests/test_incremental_dbt.py). -#}
{% macro new_reports(column='report_id', current='int_annual_reports') -%}
{%- if is_incremental() %} {{ column }} in (select current_.report_id from {{ ref(current) }} as current_
    where not exists (select 1 from {{ this }} as held where held.report_id = current_.report_id)) {% else %} true {% endif -%}
{%- endmacro %}

{% macro delete_reports_not_in(current) -%}
delete from {{ this }} as held where not exists (select 1 from {{ ref(current) }} as current_ where current_.report_id = held.report_id)
{%- endmacro %}
