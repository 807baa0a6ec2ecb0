with source as (
    select * from {{ source('raw', 'documents') }}
),

renamed as (
    select
        report_id,
        source_uri,
        content_hash,
        source_version,
        parser_version,
        document_kind,
        template_version,
        nullif(trim(agency), '') as agency_name,
        year,
        try_cast(published as date) as published_on,
        index_no,
        doc_no,
        title,
        encoding,
        input_format,
        n_cells,
        n_issues,
        n_errors,
        landed_at
    from source
)

select * from renamed
