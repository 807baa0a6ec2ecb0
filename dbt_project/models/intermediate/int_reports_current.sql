-- The current version of each source document: its highest source_version (a changed page wins),
-- with its resolved agency (int_agency_identity: one agency_id across name variants and years).
with documents as (
    select * from {{ ref('stg_documents') }}
),

current_versions as (
    select *
    from documents
    qualify row_number() over (partition by source_uri order by source_version desc) = 1
)

select
    current_versions.*,
    coalesce(identity.agency_id, {{ agency_id('current_versions.agency_name') }}) as agency_id
from current_versions
left join {{ ref('int_agency_identity') }} as identity using (agency_name)
