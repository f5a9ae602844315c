"""The beneficiary registry's domain logic: ID numbers, monthly rosters, premium subsidies.

Pure functions over plain values: no database, no clock (`today` is always a parameter).
The store reads and writes what these functions compute.
"""
