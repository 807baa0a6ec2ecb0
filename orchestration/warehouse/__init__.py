"""The warehouse: DuckDB landing, dbt build, quality gate glue and atomic publish.

Steps each open the DuckDB work file, write and close it again (DuckDB allows one writer
process), so Dagster assets and the plain ``pipeline.build_warehouse`` compose the same calls.
"""
