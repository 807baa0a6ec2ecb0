-- The current version of each source document: its highest source_version (a changed page wins).
with documents as (
    select * from {{ ref('stg_documents') }}
),

current_versions as (
    select *
    from documents
    qualify row_number() over (partition by source_uri order by source_version desc) = 1
)

select
    *,
    {{ agency_id('agency_name') }} as agency_id
from current_versions
