-- Each source's report of record: the landed document of the content its latest fetch found
-- (stg_sources), not its highest version, so a reverted page shows its reverted content and two
-- sources with the same bytes both have their report. is_retired: the source left the manifest.
-- One report per page: a report page and the attachments it links (stg_sources.page_uri) are one
-- report, read from the page when its own tables hold the report, else from an attachment (the first
-- one that holds the report, else the first one: an unreadable attachment is the report with its issue);
-- read from an attachment, its title and publish date are the page's (the attachment's when the page has
-- none), its agency and year its own (the page's when it names none). report_source says which source.
-- agency_id is the resolved agency (int_agency_identity: one agency_id across name variants and years).
with sources as (
    select * from {{ ref('stg_sources') }}
),

documents as (
    select * from {{ ref('stg_documents') }}
),

identity as (
    select * from {{ ref('int_agency_identity') }}
),

landed as (
    select
        documents.*,
        not sources.is_listed as is_retired,
        coalesce(sources.page_uri, documents.source_uri) as page_uri,
        sources.page_uri is not null as is_attachment
    from sources
    inner join documents using (source_uri, content_hash)
),

ranked as (
    select
        landed.*,
        row_number() over (
            partition by landed.page_uri, landed.is_retired  -- (an attachment the page no longer links: retired alone)
            order by landed.document_kind <> 'annual_report',
                -- a report: the page's own tables first; no report: the attachment (it holds the issue)
                landed.is_attachment = (landed.document_kind = 'annual_report'),
                landed.source_uri
        ) as page_rank
    from landed
),

-- per page, the attachment that offers the report (the first holding one, else the first)
page_attachments as (
    select
        page_uri,
        min_by(source_uri, case when document_kind = 'annual_report' then '0' else '1' end || source_uri) as first_attachment_uri
    from landed
    where is_attachment and not is_retired
    group by page_uri
),

pages as (
    select * from landed where not is_attachment
),

chosen as (
    select
        ranked.* exclude (title, published_on, agency_name, year, page_rank),
        coalesce(pages.title, ranked.title) as title,
        coalesce(pages.published_on, ranked.published_on) as published_on,
        coalesce(ranked.agency_name, pages.agency_name) as agency_name,
        coalesce(ranked.year, pages.year) as year,
        case when ranked.is_attachment then 'attachment' else 'page' end as report_source,
        case when ranked.is_attachment then ranked.source_uri else page_attachments.first_attachment_uri end as attachment_uri
    from ranked
    left join pages on pages.source_uri = ranked.page_uri and ranked.is_attachment
    left join page_attachments on page_attachments.page_uri = ranked.page_uri
    where ranked.page_rank = 1
)

select
    chosen.* exclude (is_attachment),
    attachments.input_format as attachment_format,
    coalesce(identity.agency_id, {{ agency_id('chosen.agency_name') }}) as agency_id
from chosen
left join (select source_uri, input_format from landed) as attachments on attachments.source_uri = chosen.attachment_uri
left join identity on identity.agency_name = chosen.agency_name
