"""Anchors of the audit chain outside the database: the chain's head, signed with a key
the database never holds, appended to a file elsewhere.

The chain (store.audit) finds an entry edited, removed or inserted, but not a rewrite by
someone who can write the database and recomputes every hash after the entry they
changed (the append-only trigger stops a plain UPDATE, not the table's owner, who can drop
it). An anchor stops that: `anchor` appends one JSON line to a file outside the database
(another host, a write-once store) naming the head's seq and hash, with an HMAC-SHA256
over it and over the previous anchor's MAC, under a key kept outside the database
(MEDAID_AUDIT_KEY, or a key file). `check` then requires every anchored entry to still
have the hash it had: a rewrite of any entry at or before the last anchor changes that
entry's hash, or removes it, and is caught; so is an anchor edited, forged without the
key, or removed from the middle of the file. Entries after the last anchor are covered
from the next one: run `medaid audit anchor` on a schedule (every few minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from medaid.core import clock
from medaid.core.errors import MedaidError
from medaid.store import audit
from medaid.store.models import AuditEntry, AuditHead

KEY_ENV = "MEDAID_AUDIT_KEY"  # the key itself
KEY_FILE_ENV = "MEDAID_AUDIT_KEY_FILE"  # or a file holding it
MIN_KEY_BYTES = 32


def load_key(key_file: Path | None = None) -> bytes:
    """The anchoring key: `key_file`, else $MEDAID_AUDIT_KEY_FILE, else $MEDAID_AUDIT_KEY."""
    path = key_file or (Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV)
                        else None)
    if path is not None:
        try:
            key = path.read_bytes().strip()
        except OSError as e:
            raise MedaidError(f"{path}: cannot read the audit key: {e.strerror}") from None
        where = str(path)
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode()
        where = KEY_ENV
        if not key:
            raise MedaidError(f"no audit key: set {KEY_ENV} or {KEY_FILE_ENV}, or give "
                              f"--key-file (a secret of at least {MIN_KEY_BYTES} bytes, "
                              f"kept outside the database)")
    if len(key) < MIN_KEY_BYTES:
        raise MedaidError(f"{where}: the audit key must be at least {MIN_KEY_BYTES} bytes")
    return key


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int  # the head's seq when anchored (0: an empty chain)
    hash: str  # that entry's hash
    at: str  # when anchored, ISO 8601 UTC
    prev: str  # the previous anchor's MAC ("" for the first)
    mac: str

    def json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at,
                           "prev": self.prev, "mac": self.mac}, separators=(",", ":"))


def _mac(key: bytes, seq: int, hash_: str, at: str, prev: str) -> str:
    body = json.dumps({"seq": seq, "hash": hash_, "at": at, "prev": prev}, sort_keys=True,
                      separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def read(file: Path) -> list[Anchor]:
    """The anchors of a file (none when it does not exist)."""
    if not file.exists():
        return []
    found = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw: dict[str, Any] = json.loads(line)
            found.append(Anchor(int(raw["seq"]), str(raw["hash"]), str(raw["at"]),
                                str(raw["prev"]), str(raw["mac"])))
        except (ValueError, KeyError, TypeError):
            raise MedaidError(f"{file}:{n}: not an anchor line") from None
    return found


@dataclass(frozen=True, slots=True)
class Checked:
    anchors: int
    problem: str | None  # the first anchor that does not hold; None: all hold

    @property
    def ok(self) -> bool:
        return self.problem is None


def check(conn: Connection, key: bytes, file: Path) -> Checked:
    """Every anchor of `file` signed with `key`, following the one before, and naming an
    entry that still has the anchored hash."""
    found = read(file)
    prev, last_seq = "", 0
    for n, a in enumerate(found, 1):
        where = f"anchor {n} ({a.at}, entry {a.seq})"
        if not hmac.compare_digest(a.mac, _mac(key, a.seq, a.hash, a.at, prev)):
            return Checked(n, f"{where}: its signature does not hold (edited, forged, or an "
                              f"anchor before it removed)" if a.prev == prev
                           else f"{where}: does not follow the anchor before it (an anchor "
                                f"removed or reordered)")
        if a.seq < last_seq:
            return Checked(n, f"{where}: goes back from entry {last_seq}")
        have: str | None
        if a.seq == 0:
            ok = a.hash == audit.GENESIS
            have = audit.GENESIS
        else:
            have = conn.execute(select(AuditEntry.hash).where(AuditEntry.seq == a.seq)
                                ).scalar()
            ok = have is not None and hmac.compare_digest(have, a.hash)
        if not ok:
            return Checked(n, f"{where}: entry {a.seq} removed from the chain" if have is None
                           else f"{where}: entry {a.seq} no longer has the anchored hash "
                                f"(the log was rewritten at or before entry {a.seq})")
        prev, last_seq = a.mac, a.seq
    return Checked(len(found), None)


def anchor(conn: Connection, key: bytes, file: Path) -> Anchor:
    """Append the chain's head to `file`, signed; refused when the chain or the anchors
    already in the file do not verify (an anchor never blesses a broken log)."""
    verdict = audit.verify(conn)
    if not verdict.ok:
        raise MedaidError(f"audit log broken, not anchored: {verdict.problem}")
    held = check(conn, key, file)
    if not held.ok:
        raise MedaidError(f"{file}: not anchored: {held.problem}")
    found = read(file)
    seq, hash_ = conn.execute(select(AuditHead.seq, AuditHead.hash)
                              .where(AuditHead.id == audit.HEAD_ID)).one()
    at = clock.now().isoformat(timespec="seconds")
    prev = found[-1].mac if found else ""
    made = Anchor(seq, hash_, at, prev, _mac(key, seq, hash_, at, prev))
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a", encoding="utf-8") as f:
        f.write(made.json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return made
