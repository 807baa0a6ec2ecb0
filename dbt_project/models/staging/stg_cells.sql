with source as (
    select * from {{ source('raw', 'cells') }}
),

renamed as (
    select
        report_id,
        metric_key,
        split_part(metric_key, '.', 1) as table_key,
        value,
        raw_text,
        blank as is_blank,
        filled as is_filled,
        table_index,
        row_index,
        col_index,
        row_label,
        col_label,
        page,
        bbox
    from source
)

select * from renamed
