"""`Base.metadata` with every table: the model modules each register theirs on import.

Whatever needs the whole schema (the migration environment, the check that migrations
create what the models say) takes `Base` from here."""

from __future__ import annotations

from medaid.store.models import Base

__all__ = ["Base"]
