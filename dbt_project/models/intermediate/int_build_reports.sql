-- The current annual reports this build adds to the models kept incremental by report (macros/incremental.sql):
-- those one of the models that list them (a few rows for every report: `lists_reports`) does not hold yet;
-- every current report when it rebuilds everything or one is not built yet. (The others, the cell-level models
-- and int_narrative_claims, are in step with them: every build either completes or is followed by a full
-- one, orchestration/dbt_builds.py.)
-- They add only these, and their data tests check only these (get_where_subquery), so a 1 %-changed build
-- tests 1 % of their rows. The models are named by relation, not ref(): they read this model. (A union of
-- anti joins: one `not exists ... or not exists ...` filter took 5x as long.)
{%- set held = by_report_relations() %}
{%- if held and not flags.FULL_REFRESH %}
{%- for relation in held %}
{{ 'union' if not loop.first }}
select current_.report_id
from {{ ref('int_annual_reports') }} as current_
where not exists (select 1 from {{ relation }} as held where held.report_id = current_.report_id)
{%- endfor %}
{%- else %}
select report_id
from {{ ref('int_annual_reports') }}
{%- endif %}
