"""A generated population loaded into a ledger in bulk, as if every visit had been settled
through the service (benchmarks and tests of re-settlement, docs/RESETTLEMENT.md).

The visits are settled on the batch path (equal to the engine to the fen) with pool
snapshots, so every entry carries its amounts, category, rules and pool additions and
every person-year its pools; the stored visit is the engine's. Entries carry no trace and
no audit entry (`ledger verify --no-audit`). PostgreSQL: rows are COPYed in as CSV.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from medaid.batch import kernel
from medaid.batch.schema import FLAG_HEROIC, FLAG_RARE, NO_DATE, PersonColumns, VisitColumns
from medaid.batch.settle import settle_population
from medaid.core import clock
from medaid.engine.case import LOCATIONS, REFERRALS, dumps
from medaid.engine.insurance import BASIC_PAID, CI_BASE, CI_PAID
from medaid.policy.model import Policy
from medaid.policy.schema import KINDS
from medaid.store.models import (
    Base,
    Identity,
    Institution,
    LocalParameter,
    Person,
    PersonYear,
    Settlement,
)

EPOCH = date(1970, 1, 1)


def _day(d: int) -> date:
    return EPOCH + timedelta(days=int(d))


def _copy(conn: Connection, table: str, t: pa.Table) -> None:
    """COPY an Arrow table into `table` (PostgreSQL) or insert its rows."""
    if conn.dialect.name != "postgresql":
        rows = t.to_pylist()
        for r in rows:
            for k, v in r.items():
                if isinstance(v, str) and k in ("visit", "pool_deltas", "rules", "trace",
                                                "pools"):
                    r[k] = json.loads(v)
        if rows:
            conn.execute(insert(Base.metadata.tables[table]), rows)
        return
    import psycopg

    raw = conn.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    buf = io.BytesIO()
    pacsv.write_csv(t, buf, pacsv.WriteOptions(include_header=False))
    cols = ", ".join(f'"{c}"' for c in t.column_names)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        view = buf.getbuffer()
        for lo in range(0, len(view), 1 << 22):
            cp.write(view[lo:lo + (1 << 22)])


def load(conn: Connection, versions: Sequence[Policy], local: Mapping[str, object],
         visits: VisitColumns, visit_ids: Sequence[str], persons: PersonColumns,
         district: str = "320102") -> dict[str, int]:
    """Load persons (keys → new person rows), their identities, one hospital, the local
    parameters and every visit as a settled ledger entry; not committed. Visits grouped
    by person and year. Returns counts."""
    jurisdiction = versions[0].jurisdiction
    res = settle_population(versions, local, visits, persons, snapshots=True)
    assert res.before is not None and res.years.end is not None
    n = len(visits)
    base_id = int(conn.execute(select(func.coalesce(func.max(Person.id), 0))).scalar_one())
    inst_id = int(conn.execute(select(func.coalesce(func.max(Institution.id), 0))
                               ).scalar_one()) + 1
    entry0 = int(conn.execute(select(func.coalesce(func.max(Settlement.id), 0))).scalar_one())
    conn.execute(insert(Institution).values(
        id=inst_id, code=f"H{district}{inst_id:05d}"[:12], name="批量医院",
        jurisdiction=jurisdiction, district=district, level=3, kind="hospital"))
    for name, value in local.items():
        year = int(res.year[0]) if n else None
        conn.execute(insert(LocalParameter).values(
            jurisdiction=jurisdiction, name=name, year=year, value=dumps(value),
            source="generated"))

    keys = persons.key
    pid = keys - keys.min() + base_id + 1 if len(keys) else keys
    psn = [f"B{base_id + 1 + int(k - keys.min())}" for k in keys]
    _copy(conn, "persons", pa.table({
        "id": pa.array(pid, pa.int64()), "psn_no": psn,
        "certno": [f"{base_id + 1 + i:018d}" for i in range(len(keys))],
        "name": ["张三"] * len(keys), "jurisdiction": [jurisdiction] * len(keys),
        "district": [district] * len(keys),
        "disability_grade": pa.array(persons.grade, pa.int16(), mask=persons.grade == 0),
        "tilted_application": pa.array(
            np.where(persons.tilted_application == NO_DATE, 0, persons.tilted_application),
            pa.int32(), mask=persons.tilted_application == NO_DATE).cast(pa.date32())}))
    owner = np.repeat(pid, np.diff(persons.ident_offsets))

    def dates(a: Any) -> pa.Array:
        return pa.array(np.where(a == NO_DATE, 0, a), pa.int32(),
                        mask=a == NO_DATE).cast(pa.date32())

    _copy(conn, "identities", pa.table({
        "person_id": pa.array(owner, pa.int64()),
        "category": [persons.ident_category[c] for c in persons.ident_cat.tolist()],
        "from_date": dates(persons.ident_from), "to_date": dates(persons.ident_to),
        "application_date": dates(persons.ident_application)}))

    # pool additions of each visit, from the snapshots
    cfg = versions[-1].spec.tilted
    names = [*res.plans.pools, cfg.pool if cfg is not None else "tilted", BASIC_PAID,
             CI_BASE, CI_PAID]
    scale = res.plans.scale
    row_of_key = {int(k): i for i, k in enumerate(keys.tolist())}
    person_row = np.array([row_of_key[int(k)] for k in visits.person.tolist()], np.int64) \
        if n else np.zeros(0, np.int64)
    after = np.empty_like(res.before)
    off = res.years.off
    if n:
        after[:-1] = res.before[1:]
        after[off[1:] - 1] = res.years.end
    delta = after - res.before
    k_tilt = len(names) - kernel.SNAPSHOT_EXTRA

    def encode(row: Any) -> str:
        parts = []
        for j, v in enumerate(row.tolist()):
            if v:
                if j == k_tilt and scale != 1:
                    from fractions import Fraction
                    f = Fraction(v, scale)
                    parts.append((names[j], f'"{f.numerator}/{f.denominator}"'
                                  if f.denominator != 1 else str(int(f))))
                else:
                    parts.append((names[j], str(v)))
        return "{" + ", ".join(f'"{k}": {v}' for k, v in sorted(parts)) + "}"

    nz = delta.any(axis=1)
    pool_json = np.full(n, "{}", object)
    for i in np.flatnonzero(nz).tolist():
        pool_json[i] = encode(delta[i])
    rule_ids, rule_names = res.rules()
    rules_json = [json.dumps(r.split("+") if r else []) for r in rule_names]
    kind = [KINDS[k] for k in range(len(KINDS))]
    loc = list(LOCATIONS)
    ref = list(REFERRALS)
    cats = res.plans.categories
    policy = f"{jurisdiction} {versions[-1].spec.version}"
    med = visits
    visit_json = []
    for i in range(n):
        h = int(med.hifp[i])
        m = int(med.hifmi[i])
        lv = int(med.level[i])
        visit_json.append(
            f'{{"id": "{visit_ids[i]}", "kind": "{kind[med.kind[i]]}", '
            f'"start": "{_day(med.start[i])}", "end": "{_day(med.end[i])}", '
            f'"medfee_sumamt": {int(med.medfee[i])}, "fulamt_ownpay_amt": 0, '
            f'"overlmt_selfpay": {int(med.medfee[i] - med.inscp[i])}, "preselfpay_amt": 0, '
            f'"hifp_pay": {"null" if h < 0 else h}, "hifmi_pay": {"null" if m < 0 else m}, '
            f'"oth_pay": {int(med.oth[i])}, "location": "{loc[med.location[i]]}", '
            f'"referral": "{ref[med.referral[i]]}", '
            f'"hospital_level": {lv if lv else "null"}, '
            f'"heroic_injury": {"true" if med.flags[i] & FLAG_HEROIC else "false"}, '
            f'"rare_disease": {"true" if med.flags[i] & FLAG_RARE else "false"}}}')
    ids = np.arange(entry0 + 1, entry0 + 1 + n, dtype=np.int64)
    now = clock.now()
    start = pa.array(med.start, pa.int32()).cast(pa.date32())
    end = pa.array(med.end, pa.int32()).cast(pa.date32())
    kinds_arr = pa.DictionaryArray.from_arrays(pa.array(med.kind, pa.int8()), kind)
    _copy(conn, "settlements", pa.table({
        "id": ids, "setl_id": [f"L{i}" for i in ids.tolist()], "kind": ["settle"] * n,
        "reverses_id": pa.nulls(n, pa.int64()), "institution_id": np.full(n, inst_id),
        "medins_setl_id": [f"S{i}" for i in ids.tolist()], "mdtrt_id": list(visit_ids),
        "person_id": pid[person_row], "psn_no": [psn[r] for r in person_row.tolist()],
        "year": res.year.astype(np.int64), "request_hash": ["0" * 64] * n,
        "med_type": pa.nulls(n, pa.string()), "visit_kind": kinds_arr.cast(pa.string()),
        "start": start, "end": end, "policy": [policy] * n,
        "settled_as": pa.DictionaryArray.from_arrays(pa.array(res.settled_as, pa.int8()),
                                                     kind).cast(pa.string()),
        "category": pa.DictionaryArray.from_arrays(
            pa.array(res.category, pa.int16(), mask=res.category < 0),
            pa.array(cats, pa.string())).cast(pa.string()),
        "rules": pa.DictionaryArray.from_arrays(pa.array(rule_ids, pa.int32()),
                                                pa.array(rules_json)).cast(pa.string()),
        "medfee_sumamt": med.medfee, "fulamt_ownpay_amt": np.zeros(n, np.int64),
        "overlmt_selfpay": med.medfee - med.inscp, "preselfpay_amt": np.zeros(n, np.int64),
        "inscp_scp_amt": res.inscp_scp_amt, "hifp_pay": res.hifp_pay,
        "hifmi_pay": res.hifmi_pay, "oth_pay": res.oth_pay, "base": res.base,
        "assistance": res.assistance, "tilted": res.tilted, "special": res.special,
        "reassistance": np.zeros(n, np.int64),  # the batch path settles no stages
        "maf_pay": res.maf_pay, "psn_part_amt": res.psn_part_amt, "trace": ["[]"] * n,
        "pool_deltas": pa.array(pool_json.tolist(), pa.string()),
        "created_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        "visit": visit_json}))
    ends = [encode(r) for r in res.years.end]
    _copy(conn, "person_years", pa.table({
        "person_id": pa.array(pid[[row_of_key[int(k)] for k in res.years.person.tolist()]],
                              pa.int64()),
        "year": pa.array(res.years.year, pa.int64()), "pools": ends,
        "version": np.ones(len(ends), np.int64)}))
    if conn.dialect.name == "postgresql":
        for table in ("persons", "identities", "institutions", "settlements", "person_years",
                      "local_parameters"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))")
    return {"persons": len(keys), "visits": n, "person_years": len(ends)}


__all__ = ["Identity", "PersonYear", "load"]
