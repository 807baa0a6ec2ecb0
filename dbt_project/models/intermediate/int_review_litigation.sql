-- Table 四 wide: one row per current annual report x review/litigation row (R4_review_total reads this).
{{ wide_by_template_row('review_litigation') }}
