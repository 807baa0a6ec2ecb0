"""The warehouse: DuckDB landing, batch gate and atomic publish, called by the Dagster assets.

Steps each open the DuckDB work file, write and close it again (DuckDB allows one writer
process); the order of the steps is the asset graph's (orchestration/assets.py), nowhere else.
"""
