"""The hash-chained audit log: append in the caller's transaction, verify the chain.

Entry n's hash is SHA-256 of entry n-1's hash followed by the canonical JSON of entry n
(seq, at, actor, action, object, detail). An append locks the head row (FOR UPDATE on
PostgreSQL; SQLite's one writer already excludes others), so entries get consecutive
seqs in commit order; the lock is held until the caller commits, so appenders take it
last, just before their commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from medaid.store.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1

_LOCK_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID
                                                          ).with_for_update()
_APPEND = insert(AuditEntry)
_MOVE_HEAD = update(AuditHead).where(AuditHead.id == HEAD_ID).values(
    seq=bindparam("new_seq"), hash=bindparam("new_hash"))


def digest(prev_hash: str, seq: int, at: datetime, actor: str, action: str, obj: str,
           detail: dict[str, Any]) -> str:
    body = json.dumps({"seq": seq, "at": at.astimezone(UTC).isoformat(), "actor": actor,
                       "action": action, "object": obj, "detail": detail},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(conn: Connection, actor: str, action: str, obj: str,
           detail: dict[str, Any] | None = None) -> int:
    """Append an entry in `conn`'s transaction (committed or rolled back with it); its seq.

    `detail` holds JSON strings, integers, lists and objects only (no floats: the hash
    must survive the round trip through the database) and never a whole ID number."""
    detail = detail or {}
    seq, prev = conn.execute(_LOCK_HEAD).one()
    seq += 1
    at = datetime.now(UTC)
    h = digest(prev, seq, at, actor, action, obj, detail)
    conn.execute(_APPEND, {"seq": seq, "at": at, "actor": actor, "action": action,
                           "object": obj, "detail": detail, "prev_hash": prev, "hash": h})
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": h})
    return seq


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int
    problem: str | None  # the first edited, removed or inserted entry; None: intact

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(conn: Connection) -> Verdict:
    """Recompute the chain from the first entry; stop at the first break."""
    prev, expected, count = GENESIS, 1, 0
    rows = conn.execute(select(AuditEntry).order_by(AuditEntry.seq))
    for e in rows:
        count += 1
        if e.seq > expected:
            return Verdict(count, f"entry {expected} removed (the chain jumps from "
                                  f"{expected - 1} to {e.seq})")
        if e.hash != digest(e.prev_hash, e.seq, e.at, e.actor, e.action, e.object, e.detail):
            return Verdict(count, f"entry {e.seq} edited (its hash does not match its content)")
        if e.prev_hash != prev:
            return Verdict(count, f"entry {e.seq} inserted, or entry {e.seq - 1} edited "
                                  f"(it does not follow from entry {e.seq - 1})")
        prev, expected = e.hash, e.seq + 1
    head_seq, head_hash = conn.execute(select(AuditHead.seq, AuditHead.hash)
                                       .where(AuditHead.id == HEAD_ID)).one()
    last = expected - 1
    if last > head_seq:
        return Verdict(count, f"entry {head_seq + 1} inserted (the chain's head is entry "
                              f"{head_seq})")
    if last < head_seq:
        return Verdict(count, f"entry {last + 1} removed (the chain's head is entry "
                              f"{head_seq})")
    if head_hash != prev:
        return Verdict(count, f"entry {last} edited (its hash is not the chain head's)")
    return Verdict(count, None)


def entries(conn: Connection, after: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(AuditEntry).where(AuditEntry.seq > after)
                        .order_by(AuditEntry.seq).limit(limit))
    return [{"seq": e.seq, "at": e.at.astimezone(UTC).isoformat(), "actor": e.actor,
             "action": e.action, "object": e.object, "detail": e.detail,
             "prev_hash": e.prev_hash, "hash": e.hash} for e in rows]
