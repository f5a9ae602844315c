"""`Base.metadata` with every table: the model modules each register theirs on import.

Whatever needs the whole schema (the migration environment, the check that migrations
create what the models say) takes `Base` from here."""

from __future__ import annotations

import medaid.store.application_models  # registers its tables
import medaid.store.fund_models  # registers its tables
import medaid.store.identity_receipts  # registers its table
import medaid.store.warning_models  # noqa: F401  (registers its tables)
from medaid.store.models import Base

__all__ = ["Base"]
