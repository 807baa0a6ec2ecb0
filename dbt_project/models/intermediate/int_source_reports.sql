-- Each source's report of record: the landed document of the content its latest fetch found
-- (stg_sources), not its highest version, so a reverted page shows its reverted content and two
-- sources with the same bytes both have their report. is_retired: the source left the manifest.
-- agency_id is the resolved agency (int_agency_identity: one agency_id across name variants and years).
with sources as (
    select * from {{ ref('stg_sources') }}
),

documents as (
    select * from {{ ref('stg_documents') }}
),

identity as (
    select * from {{ ref('int_agency_identity') }}
)

select
    documents.*,
    not sources.is_listed as is_retired,
    coalesce(identity.agency_id, {{ agency_id('documents.agency_name') }}) as agency_id
from sources
inner join documents using (source_uri, content_hash)
left join identity using (agency_name)
