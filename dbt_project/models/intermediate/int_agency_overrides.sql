-- The maintainers' agency merges and splits (overrides/agency_identity.csv, or the file the dbt
-- assets pass as the var agency_overrides: WarehouseResource, env DISCLOSURE_AGENCY_OVERRIDES), read on every build: `merge` gives agency_name the agency of
-- same_as (a renaming the rules cannot see: 国土资源局 -> 自然资源局); `split` gives agency_name
-- an agency of its own although the rules would merge it. Audited in quality.agency_override_audit.
-- The default path hangs off the profiles dir, which is this project's folder (profiles.yml sits
-- here, and Dagster runs dbt from this folder).
with source as (
    select *
    from read_csv(
        '{{ var("agency_overrides", env_var("DISCLOSURE_AGENCY_OVERRIDES", flags.PROFILES_DIR ~ "/overrides/agency_identity.csv")) }}',
        header = true, auto_detect = false,
        columns = {'agency_name': 'varchar', 'action': 'varchar', 'same_as': 'varchar',
                   'reason': 'varchar', 'decided_by': 'varchar'}
    )
)

select
    row_number() over () as override_line,
    nullif(trim(agency_name), '') as agency_name,
    lower(trim(action)) as action,
    nullif(trim(same_as), '') as same_as,
    reason,
    decided_by
from source
