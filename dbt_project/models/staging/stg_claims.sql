with source as (
    select * from {{ source('raw', 'claims') }}
),

renamed as (
    select
        report_id,
        claim_seq,
        metric_key,
        stated_value,
        raw_text as stated_text,
        line as text_line
    from source
)

select * from renamed
