with source as (
    select * from {{ source('raw', 'waivers') }}
),

renamed as (
    select
        report_id,
        rule as waived_rule,
        reason as waiver_reason,
        waived_by,
        loaded_from,
        line
    from source
)

select * from renamed
