"""Batch settlement: a year of visits for a whole population, equal to the engine to the fen.

`schema` (the Parquet files), `checks` (the case contract's checks, compiled), `synthfile`
(`medaid synth`), `plan` (a policy compiled to arrays), `standings` (identity windows,
columnar), `kernel` (the compiled per-person scan), `settle` (arrays in, results out),
`partition` (whole persons, a partition at a time), `stream` (a file settled partition by
partition), `cluster` (the same on Dask), `summary` (totals), `compare` (baseline against
reform), `report` (the reform report), `sql` (the DuckDB formulation), `memory` (reusing
freed memory), `synth` (generated years); the commands are in medaid.cli.
"""
