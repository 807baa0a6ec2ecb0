-- The batch gate's counts (orchestration/warehouse/publish.py: batch_gate) over the current load only:
-- the sources the manifest lists now. Reports of retired sources do not count, nor do failures of sources
-- that left the manifest. Verdicts come from dim_report.
with current_reports as (
    select gate_status from {{ ref('dim_report') }} where gate_status <> 'retired'
),

listed as (
    select source_uri, content_hash from {{ ref('stg_sources') }} where is_listed
),

documents as (
    select source_uri, content_hash from {{ ref('stg_documents') }}
),

failed_sources as (
    -- listed sources whose current content has no landed document: the fetch failed with nothing
    -- fetched before, or the parser failed on it (raw.parse_failures says why)
    select listed.source_uri
    from listed
    where not exists (
        select 1 from documents
        where documents.source_uri = listed.source_uri and documents.content_hash = listed.content_hash
    )
)

select
    (select count(*) from current_reports) as documents,
    (select count(*) from current_reports where gate_status = 'passed') as passed,
    (select count(*) from current_reports where gate_status = 'quarantined') as quarantined,
    (select count(*) from current_reports where gate_status = 'not_applicable') as not_applicable,
    (select count(*) from failed_sources) as failed
