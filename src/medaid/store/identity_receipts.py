"""When the registry received each identity (the roster-push indicator, YC-K 第二十条).

Rows are written by database triggers on `identities` (migration 0005), so every path that
inserts or changes an identity (roster import, the API, the demo) is recorded alike.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from medaid.store.models import Base, UtcDateTime


class IdentityReceipt(Base):
    """When the registry received an identity's recognition or exit date: written by
    database triggers on `identities` (migration 0005), whoever inserts or changes it (the
    roster import, the API). The roster-push indicator (YC-K 第二十条) reads it."""

    __tablename__ = "identity_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(4))  # from (recognised) | to (exited)
    effective: Mapped[date] = mapped_column(Date)  # the recognition or exit date received
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
