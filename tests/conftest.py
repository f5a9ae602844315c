"""Shared by every suite: this folder is on the import path, so `databases` (the test
databases on SQLite and PostgreSQL) is importable from each suite's conftest."""
