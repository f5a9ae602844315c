"""The hash-chained audit log: append in the caller's transaction, verify the chain.

Entry n's hash is SHA-256 of entry n-1's hash followed by the canonical JSON of entry n
(seq, at, actor, action, object, detail). An append locks the head row (FOR UPDATE on
PostgreSQL; SQLite's one writer already excludes others), so entries get consecutive
seqs in commit order; the lock is held until the caller commits, so appenders take it
last, just before their commit.

On PostgreSQL an append is one statement (`PG_APPEND`: lock the head, compute the hash in
the database from the locked head, insert the entry, move the head), so the lock is held
for no round trip of the caller's but the commit; `PG_APPEND` can also end a statement
that writes other rows first (the settlement path writes its ledger entry, its pools and
its audit entry in one statement, committed in the same round trip). The entry's `at` is
then the database's clock when the head is locked, and the hashed text is built from
the parts of `hashed_parts`, which equal `digest`'s to the byte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from medaid.core import clock
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


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_parts(actor: str, action: str, obj: str, detail: dict[str, Any]
                 ) -> tuple[bytes, bytes]:
    """(before, between): `digest(prev, seq, at, …)` is the SHA-256 of prev_hash + before +
    at's ISO text + between + seq + "}" (the canonical JSON's keys in order: action, actor,
    at, detail, object, seq)."""
    before = f'{{"action":{_json(action)},"actor":{_json(actor)},"at":"'
    between = f'","detail":{_json(detail)},"object":{_json(obj)},"seq":'
    return before.encode(), between.encode()


# A timestamptz `at` as Python's `at.astimezone(UTC).isoformat()` writes it.
PG_ISOFORMAT = ("""to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || CASE """
                """WHEN to_char({at} AT TIME ZONE 'UTC', 'US') = '000000' THEN '' """
                """ELSE '.' || to_char({at} AT TIME ZONE 'UTC', 'US') END || '+00:00'""")

# The chain's next entry from the locked head, in PostgreSQL: `at` is taken once the head
# is locked and written as Python's isoformat() writes a UTC moment (no fraction when its
# microseconds are 0). Parameters: actor, action, object, detail (JSON text), before and
# between (bytea, from `hashed_parts`). The CTEs may follow others of the same statement.
PG_APPEND_CTES = """
audit_locked AS MATERIALIZED (
  SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
audit_next AS MATERIALIZED (
  SELECT seq + 1 AS seq, hash AS prev_hash, clock_timestamp() AS at FROM audit_locked),
audit_text AS MATERIALIZED (
  SELECT seq, prev_hash, at, """ + PG_ISOFORMAT.format(at="at") + """ AS at_text
  FROM audit_next),
audit_entry AS MATERIALIZED (
  SELECT seq, prev_hash, at,
         encode(sha256(convert_to(prev_hash, 'UTF8') || %(audit_before)s::bytea
                       || convert_to(at_text, 'UTF8') || %(audit_between)s::bytea
                       || convert_to(seq::text || '}', 'UTF8')), 'hex') AS hash
  FROM audit_text),
audit_inserted AS (
  INSERT INTO audit_log (seq, at, actor, action, object, detail, prev_hash, hash)
  SELECT seq, at, %(audit_actor)s, %(audit_action)s, %(audit_object)s,
         %(audit_detail)s::json, prev_hash, hash FROM audit_entry)
"""
PG_APPEND_TAIL = """
UPDATE audit_head SET seq = audit_entry.seq, hash = audit_entry.hash FROM audit_entry
WHERE audit_head.id = 1 RETURNING audit_entry.seq"""
PG_APPEND = "WITH" + PG_APPEND_CTES + PG_APPEND_TAIL


def pg_params(actor: str, action: str, obj: str, detail: dict[str, Any]) -> dict[str, Any]:
    """`PG_APPEND_CTES`' parameters (psycopg's named style)."""
    before, between = hashed_parts(actor, action, obj, detail)
    return {"audit_actor": actor, "audit_action": action, "audit_object": obj,
            "audit_detail": json.dumps(detail), "audit_before": before,
            "audit_between": between}


def append(conn: Connection, actor: str, action: str, obj: str,
           detail: dict[str, Any] | None = None) -> int:
    """Append an entry in `conn`'s transaction (committed or rolled back with it); its seq.

    `detail` holds JSON strings, integers, lists and objects only (no floats: the hash
    must survive the round trip through the database) and never a whole ID number."""
    detail = detail or {}
    if conn.dialect.name == "postgresql":
        seq: int = conn.exec_driver_sql(PG_APPEND, pg_params(actor, action, obj, detail)
                                        ).scalar_one()
        return seq
    seq, prev = conn.execute(_LOCK_HEAD).one()
    seq += 1
    at = clock.now()
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
