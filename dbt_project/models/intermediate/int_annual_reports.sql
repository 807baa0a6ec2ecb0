-- The current versions that are template annual reports: what every rule and metric model reads
-- (news pages, guides and other documents are landed and listed in dim_report, nothing more).
with reports as (
    select * from {{ ref('int_reports_current') }}
)

select *
from reports
where document_kind = 'annual_report'
