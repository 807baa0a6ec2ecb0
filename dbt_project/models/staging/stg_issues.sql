with source as (
    select * from {{ source('raw', 'issues') }}
),

renamed as (
    select
        report_id,
        issue_seq,
        code as issue_code,
        severity,
        table_key,
        metric_key,
        message
    from source
)

select * from renamed
