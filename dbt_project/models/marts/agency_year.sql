-- Agency x year, wide: requests, outcome shares, review and litigation, active disclosure.
-- Keyed on the resolved agency (dim_agency: one body across its name variants), so one agency over
-- the years is one line. Counts are BIGINT (R5_domain holds back a count that is not a whole
-- number), shares and rates DECIMAL. When an agency has several passed reports for a year, the latest published one counts.
{%- set rate = "decimal(12, 6)" %}  {#- a share or rate: 0 to 1, six decimal places #}
{%- set denied_reasons = ["state_secret", "law_prohibited", "security_stability", "third_party",
                          "internal_affairs", "process_info", "enforcement_file", "admin_query"] %}
with reports as (
    select *
    from {{ ref('dim_report') }}
    where gate_status = 'passed' and year is not null
    qualify row_number() over (
        partition by agency_id, year order by published_on desc nulls last, report_id
    ) = 1
),

metrics as (
    select report_id, metric_key, value
    from {{ ref('fct_metric') }}
    where report_id in (select report_id from reports)
),

wide as (
    select
        report_id,
        max(value) filter (where metric_key = 'applications.new_received.total') as requests_received,
        max(value) filter (where metric_key = 'applications.carried_over.total') as requests_carried_over,
        max(value) filter (where metric_key = 'applications.total_processed.total') as requests_processed,
        max(value) filter (where metric_key = 'applications.carried_forward.total') as requests_carried_forward,
        max(value) filter (where metric_key = 'applications.granted.total') as granted,
        max(value) filter (where metric_key = 'applications.partially_granted.total') as partially_granted,
        {%- for reason in denied_reasons %}
        max(value) filter (where metric_key = 'applications.denied_{{ reason }}.total') as denied_{{ reason }},
        {%- endfor %}
        max(value) filter (where metric_key = 'applications.unable_not_held.total') as not_held,
        max(value) filter (where metric_key = 'review_litigation.review.total') as review_total,
        max(value) filter (where metric_key = 'review_litigation.review.corrected') as review_corrected,
        sum(value) filter (where metric_key in ('review_litigation.litigation_direct.total',
                                                'review_litigation.litigation_after_review.total')) as litigation_total,
        sum(value) filter (where metric_key in ('review_litigation.litigation_direct.corrected',
                                                'review_litigation.litigation_after_review.corrected')) as litigation_corrected,
        max(value) filter (where metric_key = 'active.licensing.decisions') as active_licensing_decisions,
        max(value) filter (where metric_key = 'active.penalty.decisions') as active_penalty_decisions,
        max(value) filter (where metric_key = 'active.coercion.decisions') as active_coercion_decisions,
        max(value) filter (where metric_key in ('active.rules.new_published', 'active.rules.issued')) as active_rules_published,
        max(value) filter (where metric_key in ('active.normative_docs.new_published', 'active.normative_docs.issued')) as active_normative_docs_published
    from metrics
    group by report_id
)

select
    reports.agency_id,
    reports.year,
    agencies.agency_name,
    agencies.province,
    agencies.city,
    agencies.county,
    agencies.division_code,
    agencies.agency_kind,
    reports.report_id,
    reports.template_version,
    cast(wide.requests_received as bigint) as requests_received,
    cast(wide.requests_carried_over as bigint) as requests_carried_over,
    cast(wide.requests_processed as bigint) as requests_processed,
    cast(wide.requests_carried_forward as bigint) as requests_carried_forward,
    cast(wide.granted as bigint) as granted,
    cast(wide.partially_granted as bigint) as partially_granted,
    cast((wide.granted + wide.partially_granted) / nullif(wide.requests_processed, 0) as {{ rate }}) as granted_or_partly_share,
    {%- for reason in denied_reasons %}
    cast(wide.denied_{{ reason }} / nullif(wide.requests_processed, 0) as {{ rate }}) as denied_{{ reason }}_share,
    {%- endfor %}
    cast(wide.not_held / nullif(wide.requests_processed, 0) as {{ rate }}) as not_held_share,
    cast(wide.review_total as bigint) as review_total,
    cast(wide.review_corrected as bigint) as review_corrected,
    cast(wide.review_corrected / nullif(wide.review_total, 0) as {{ rate }}) as review_correction_rate,
    cast(wide.litigation_total as bigint) as litigation_total,
    cast(wide.litigation_corrected as bigint) as litigation_corrected,
    cast(wide.litigation_corrected / nullif(wide.litigation_total, 0) as {{ rate }}) as litigation_correction_rate,
    cast(wide.active_licensing_decisions as bigint) as active_licensing_decisions,
    cast(wide.active_penalty_decisions as bigint) as active_penalty_decisions,
    cast(wide.active_coercion_decisions as bigint) as active_coercion_decisions,
    cast(wide.active_rules_published as bigint) as active_rules_published,
    cast(wide.active_normative_docs_published as bigint) as active_normative_docs_published
from reports
inner join wide using (report_id)
inner join {{ ref('dim_agency') }} as agencies using (agency_id)
