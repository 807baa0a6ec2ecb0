-- The report that speaks for a resolved agency in a year (the latest published current annual
-- report, whatever name variant it prints): what the cross-year rules W1 and W4 compare against.
select report_id, agency_id, agency_name, year, template_version, published_on
from {{ ref('int_annual_reports') }}
where agency_name is not null and year is not null
qualify row_number() over (
    partition by agency_id, year order by published_on desc nulls last, report_id
) = 1
