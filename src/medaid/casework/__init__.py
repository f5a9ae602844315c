"""Casework rules that need no database: funds, warnings."""
