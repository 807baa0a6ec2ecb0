{#- The template's structure for wide (pivoted) models: column names only. Which keys exist in which
    template version comes from the metric_dictionary seed, never from here. -#}

{% macro applicant_columns() -%}
    {{ return(["natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org", "total"]) }}
{%- endmacro %}

{% macro applications_rows() -%}
    {{ return([
        "new_received", "carried_over", "granted", "partially_granted",
        "denied_state_secret", "denied_law_prohibited", "denied_security_stability", "denied_third_party",
        "denied_internal_affairs", "denied_process_info", "denied_enforcement_file", "denied_admin_query",
        "unable_not_held", "unable_needs_creation", "unable_unclear",
        "not_processed_complaint", "not_processed_duplicate", "not_processed_publication",
        "not_processed_excessive", "not_processed_confirmation",
        "other", "other_overdue_correction", "other_unpaid_fee", "other_misc",
        "total_processed", "carried_forward"]) }}
{%- endmacro %}

{% macro review_columns() -%}
    {{ return(["upheld", "corrected", "other", "pending", "total"]) }}
{%- endmacro %}

{% macro active_columns() -%}
    {{ return(["new_made", "new_published", "total_published", "issued", "repealed", "in_force",
               "prior_items", "change", "decisions", "items", "amount_yuan", "amount_10k_yuan"]) }}
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
{% macro wide_by_template_row(table_key, columns) -%}
with reports as (
    select report_id, template_version
    from {{ ref('int_annual_reports') }}
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
        {{ pivot_values('column_key', columns) }}
    from {{ ref('int_metric_values') }}
    where table_key = '{{ table_key }}' and not is_derived
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
