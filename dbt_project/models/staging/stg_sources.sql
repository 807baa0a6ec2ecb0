-- The current load as the last landing recorded it: per source, the content that is current and
-- whether the manifest still lists it, and the page that linked it (orchestration/warehouse/landing.py, raw.sources).
with source as (
    select * from {{ source('raw', 'sources') }}
),

renamed as (
    select
        source_uri,
        content_hash,
        fetch_status,
        fetch_error,
        listing,
        page as page_uri,  -- the report page that linked this source as an attachment (null: listed itself)
        listed as is_listed,
        recorded_at
    from source
)

select * from renamed
