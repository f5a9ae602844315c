"""Auditing the platform's assistance payments (稽核, docs/AUDIT.md).

`fields` (the export's columns and codes), `export` (reading an export: CSV, XLSX,
Parquet), `roster` (the identity roster), `resettle` (every person-year settled again,
cancellations netted, duplicates found), `causes` (the likely cause of each difference),
`workbook` (the findings workbook); `medaid audit-payments` is medaid.cli.audit_payments.
"""
