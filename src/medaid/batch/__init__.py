"""Batch settlement: a year of visits for a whole population, equal to the engine to the fen.

`schema` (the Parquet files), `checks` (the case contract's checks, compiled), `synthfile`
(`medaid synth`), `plan` (a policy compiled to arrays), `standings` (identity windows,
columnar), `kernel` (the compiled per-person scan), `settle` (file in, results out),
`summary` (totals), `sql` (the DuckDB formulation), `memory` (reusing freed memory),
`commands` (the CLI).
"""
