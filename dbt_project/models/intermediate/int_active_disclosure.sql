-- Table 二 wide: one row per current annual report x active-disclosure row of its version
-- (W2_published reads this; agency_year's active disclosure counts come from fct_metric).
{{ wide_by_template_row('active') }}
