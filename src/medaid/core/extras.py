"""The optional parts of medaid and the modules they bring (pyproject's extras).

A settlement server installs only what it runs (`pip install medaid[postgres]`); the
simulation, the cluster and the charts are extras. A command that needs a missing one says
which extra to install instead of a traceback.
"""

from __future__ import annotations

EXTRA_OF = {
    "psycopg": "postgres",
    "numba": "simulate", "duckdb": "simulate", "polars": "simulate", "pyarrow": "simulate",
    "dask": "cluster", "distributed": "cluster",
    "matplotlib": "reports",
}


def explain(e: ModuleNotFoundError) -> str | None:
    """The message for a missing module of an extra; None for any other missing module."""
    root = (e.name or "").split(".")[0]
    extra = EXTRA_OF.get(root)
    if extra is None:
        return None
    return (f"这项功能需要安装 medaid[{extra}] / this needs the {extra} extra "
            f"(module {root} is not installed): pip install 'medaid[{extra}]'")
