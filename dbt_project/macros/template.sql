{#- The template's keys for wide (pivoted) models, read from the metric_dictionary seed, the one
    source of the keys (extract/template.py reads the same file): the distinct `row_key`s or
    `column_key`s of one table, in the dictionary's sort_order. dbt's Jinja cannot read a file, so
    they come from the loaded seed when a model compiles (a build loads seeds first; the ref makes
    every caller depend on the seed). At parse time nothing executes: an empty list. -#}
{% macro template_keys(key_column, table_key) -%}
    {%- set dictionary = ref('metric_dictionary') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select {{ key_column }} from {{ dictionary }}
        where table_key = '{{ table_key }}'
        group by {{ key_column }}
        order by min(sort_order)
    {%- endset -%}
    {%- set keys = run_query(query).columns[0].values() | list -%}
    {%- if not keys -%}
        {{ exceptions.raise_compiler_error("the metric_dictionary seed has no " ~ key_column ~ " of table '"
            ~ table_key ~ "' (" ~ dictionary ~ "): seed it (dbt seed) from seeds/metric_dictionary.csv") }}
    {%- endif -%}
    {{ return(keys) }}
{%- endmacro %}

{#- One column per key: max(value) filter (where <key_column> = '<key>') as <key>. -#}
{% macro pivot_values(key_column, keys, value_column="value") -%}
    {%- for key in keys %}
    max({{ value_column }}) filter (where {{ key_column }} = '{{ key }}') as {{ key }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Whether a template version is listed in a comma-separated versions column of the dictionary. -#}
{% macro in_versions(version, versions_column) -%}
    list_contains(string_split({{ versions_column }}, ','), {{ version }})
{%- endmacro %}

{% macro agency_id(name_column) -%}
    left(md5(coalesce({{ name_column }}, '')), 16)
{%- endmacro %}

{#- A table of the template pivoted wide: one row per current annual report x row of that table
    in the report's template version, one column per column key (NULL where the cell is missing). -#}
{% macro wide_by_template_row(table_key) -%}
{{ by_report('int_annual_reports') }}  {#- incremental by report (macros/incremental.sql) #}
with reports as (
    select report_id, template_version
    from {{ ref('int_annual_reports') }}
    where {{ new_reports() }}
),

template_rows as (
    select distinct reports.report_id, reports.template_version, dictionary.row_key
    from reports
    inner join {{ ref('metric_dictionary') }} as dictionary
        on dictionary.table_key = '{{ table_key }}'
        and {{ in_versions('reports.template_version', 'dictionary.template_versions') }}
),

wide as (
    select
        report_id,
        row_key,
        {{ pivot_values('column_key', template_keys('column_key', table_key)) }}
    from {{ ref('int_metric_values') }}
    where table_key = '{{ table_key }}' and not is_derived and {{ new_reports() }}
    group by report_id, row_key
)

select
    template_rows.report_id,
    template_rows.template_version,
    template_rows.row_key,
    wide.* exclude (report_id, row_key)
from template_rows
left join wide using (report_id, row_key)
{%- endmacro %}
