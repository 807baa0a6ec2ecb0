-- Table 三 by row: one row per current annual report x row of its template version, one column
-- per applicant column (R2_row_total reads this).
{{ wide_by_template_row('applications') }}
