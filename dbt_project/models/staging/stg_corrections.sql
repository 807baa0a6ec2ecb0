with source as (
    select * from {{ source('raw', 'corrections') }}
),

renamed as (
    select
        report_id,
        metric_key,
        corrected_value,
        reason as correction_reason,
        corrected_by,
        loaded_from,
        line
    from source
)

select * from renamed
