with source as (
    select * from {{ source('raw', 'fetches') }}
),

renamed as (
    select
        fetch_id,
        source_uri,
        final_url,
        try_cast(fetched_at as timestamptz) as fetched_at,
        status as fetch_status,
        http_status,
        content_hash,
        headers,
        error as fetch_error,
        landed_at
    from source
)

select * from renamed
