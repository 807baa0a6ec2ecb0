{#- Incremental by report (issue #11). A report_id is a hash of its source and content, so a report's
    landed rows never change under the same id: a model whose rows for a report depend only on that
    report's rows, the seeds and the overrides adds the current reports it does not hold yet and deletes
    those that left the current set, and does nothing for the rest. Anything else that changes such rows
    (the models, seeds, parser version, corrections, waivers, agency overrides) makes the refresh rebuild
    everything: `dbt build --full-refresh` (orchestration/dbt_builds.py decides). -#}

{#- config for a model kept incremental by report: rows of reports that left `current` (a model) are deleted -#}
{#- lists_reports: whether int_build_reports reads this model to find the reports a build adds: a model with a
    few rows for every current annual report. Not one with many (the cell-level models: 3.4 s at 100k reports
    to read all) or with rows for some reports only (narrative claims: the others would be in every build's
    list); those are in step with the listing ones, as every build completes or is followed by a full one. -#}
{% macro by_report(current, strategy='append', lists_reports=true) -%}
{{ config(materialized='incremental', unique_key='report_id', incremental_strategy=strategy,
          on_schema_change='fail', meta={'tested_reports': 'int_build_reports', 'lists_reports': lists_reports},
          post_hook="{{ delete_reports_not_in('" ~ current ~ "') }}") }}
-- depends_on: {{ ref('int_build_reports') }}
{%- endmacro %}

{#- a filter on `column`: on an incremental run, only the current reports the model does not hold yet, which
    are among this build's int_build_reports (so this model's data tests may check only those, get_where_subquery).
    Anti joins (`not exists`), never `not in (select report_id from {{ this }})`: DuckDB runs that as a mark
    join over every row the model holds, null semantics included, which took 45 s of a 1 %-changed
    refresh at 100k reports for int_metric_values alone where this takes 0.3 s (tests/test_incremental_dbt.py). -#}
{% macro new_reports(column='report_id') -%}
{%- if is_incremental() %} {{ column }} in (select build_.report_id from {{ ref('int_build_reports') }} as build_
    where not exists (select 1 from {{ this }} as held where held.report_id = build_.report_id)) {% else %} true {% endif -%}
{%- endmacro %}

{#- The models kept incremental by report (`by_report` above) that list the reports a build adds, as relations of
    the work DB; none when one of them is not built yet (int_build_reports then lists every current report). -#}
{% macro by_report_relations() -%}
{%- set relations = [] -%}
{%- if execute -%}
{%- for node in graph.nodes.values() if node.resource_type == 'model' and node.config.meta.get('lists_reports') -%}
{%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
{%- if relation is none -%}{{ return([]) }}{%- endif -%}
{%- do relations.append(relation) -%}
{%- endfor -%}
{%- endif -%}
{{ return(relations) }}
{%- endmacro %}

{#- dbt's hook for a data test's `where` (dbt/include/global_project/.../where_subquery.sql), here also: a test of a
    model kept incremental by report (or of int_metric_domain, a view of one) checks, on an incremental build, only
    the reports this build wrote there, listed by the model its meta `tested_reports` names (int_build_reports;
    marts.fct_metric's fct_metric_build_reports), as the rows of other reports are as the last complete build left them (a
    report's rows never change under its id; the post-hooks only delete). Every data test of these models is
    per report: a row's own columns, a key that includes report_id, or a row's reference to another model
    whose own tests are whole (fct_metric's agency_id is dim_report's, which is tested whole). (A cross-report
    test of such a model would need the whole table: give it `meta: {whole_table: true}`.) An incremental build after one that did not
    complete (a failing test) is not run: orchestration/dbt_builds.py rebuilds everything then, so no failure
    is forgotten. `--full-refresh` tests every row. -#}
{% macro get_where_subquery(relation) -%}
{%- set where = config.get('where', '') -%}
{%- set filter = none -%}
{%- if execute and not flags.FULL_REFRESH and not (config.get('meta') or {}).get('whole_table') -%}
{#- looked up by unique id, not by a loop over the graph for every test: our models' relations are named as the
    models (no alias); a relation that is not a model of this project is tested whole -#}
{%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ relation.identifier) -%}
{%- set listing = node.config.meta.get('tested_reports') if node and node.schema == relation.schema else none -%}
{%- set build = graph.nodes.get('model.' ~ project_name ~ '.' ~ listing) if listing else none -%}
{%- if build -%}
{%- set filter = 'report_id in (select report_id from ' ~ api.Relation.create(database=build.database, schema=build.schema, identifier=build.alias) ~ ')' -%}
{%- endif -%}
{%- endif -%}
{%- if where or filter -%}
(select * from {{ relation }} where ({{ where or 'true' }}) and {{ filter or 'true' }}) dbt_subquery
{%- else -%}
{{ relation }}
{%- endif -%}
{%- endmacro %}

{% macro delete_reports_not_in(current) -%}
delete from {{ this }} as held where not exists (select 1 from {{ ref(current) }} as current_ where current_.report_id = held.report_id)
{%- endmacro %}
