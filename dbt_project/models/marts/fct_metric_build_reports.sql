-- The passed reports marts.fct_metric writes in this build: those it does not hold with these report-level
-- columns (new, newly passed, or re-resolved to another agency or year); every passed report when it is
-- rebuilt. fct_metric reads its own rows here by relation, not ref(): it reads this model.
{{ config(schema='intermediate', materialized='table', persist_docs={'relation': false, 'columns': false}) }}
{%- set report_columns = "report_id, agency_id, year, template_version, source_uri, content_hash, parser_version" %}
{%- set held = adapter.get_relation(database=this.database, schema='marts', identifier='fct_metric') if execute else none %}
select {{ report_columns }}
from {{ ref('dim_report') }}
where gate_status = 'passed'
{%- if held is not none and not flags.FULL_REFRESH %}
except
select distinct {{ report_columns }} from {{ held }}  {#- distinct first: 20x faster than DuckDB's except over every row #}
{%- endif %}
