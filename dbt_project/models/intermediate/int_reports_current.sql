-- The current report of each source the manifest lists (retired sources' reports are left out).
select * exclude (is_retired)
from {{ ref('int_source_reports') }}
where not is_retired
