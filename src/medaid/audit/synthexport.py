"""A synthetic platform export with errors injected at known places (`medaid synth
--platform-export`, docs/AUDIT.md).

The persons and visits are `synth`'s (`batch.synthfile.person_year`: several identities,
windows that open and close in the year, referrals, locations, flags, Yichun's tilted
applications); they are written as the platform exports them — national field names,
`med_type` codes, regions, yuan — with the identity roster beside them. Some visits are
cancelled and settled again (no error: the audit must net them out). Then `maf_pay` is
set to what medaid pays, except at the injected places, one kind per cause the audit
names (`causes.CAUSES`):

| cause | what is written |
|---|---|
| duplicate | the visit settled a second time, no cancellation between, paid again |
| cancel_net | a cancellation that takes back less assistance than was paid |
| not_in_roster | a person left out of the roster, one of whose visits the platform paid |
| after_exit / not_yet / no_identity | a visit with no identity in force that was paid |
| missed | nothing paid where medaid pays |
| other_category | paid at the ratio of another category, its `psn_idet_type` written |
| cap_exceeded / deductible / rounding | the settlement without caps, without deductibles, |
| | or with the other rounding |
| over_other / under_other | medaid's amount plus or minus a sum no such change gives |

Every injected record is one the audit can tell apart: the generator settles the
person-years with each change the audit tries (`resettle.settle_again`) and injects a
cause only where no change tried before it gives the same amount. The manifest (JSON)
lists each injected record: its row, `setl_id`, cause, and both amounts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from medaid.audit import causes as found_causes
from medaid.audit import export as reading
from medaid.audit import fields, resettle
from medaid.audit import roster as rosters
from medaid.audit.causes import CAUSES, _variants
from medaid.audit.resettle import CANCELLED, DUPLICATE, LIVE, REVERSAL, Outcome
from medaid.batch import synthfile
from medaid.core.errors import InputError
from medaid.core.money import to_yuan
from medaid.engine.case import dumps
from medaid.policy import model
from medaid.policy.model import Policy
from medaid.registry import idcard

I64 = npt.NDArray[np.int64]

# visit kind → med_type; kinds without a national code get local ones (the manifest and
# --med-type carry them to the audit)
MED_TYPE = {"general_outpatient": "11", "special_outpatient": "14", "inpatient": "21",
            "childbirth": "52", "dual_channel_drug": "9901", "rare_disease_drug": "9902",
            "rehabilitation": "9903"}
LOCAL_MED_TYPES = {code: kind for kind, code in MED_TYPE.items() if len(code) == 4}
INSURED = "320100"
TREATED = {"city": "320100", "province": "320500", "out_of_province": "110100"}
HOSPITALS = [(f"H3201{k:07d}", f"第{k + 1}人民医院") for k in range(12)]
KINDS = tuple(c for c in CAUSES)
RESETTLED = 0.01  # visits cancelled and settled again (no error)


@dataclass
class Manifest:
    jurisdiction: str
    year: int
    seed: int
    persons: int
    records: int
    export: str
    roster: str
    med_types: dict[str, str]
    injected: list[dict[str, Any]]
    local: str = ""  # the local parameters' file (for --local)

    def command(self) -> str:
        """The audit of this export, as a shell command."""
        extra = "".join(f" --med-type {c}={k}" for c, k in self.med_types.items())
        return (f"medaid audit-payments {self.export} --roster {self.roster} --policy "
                f"{self.jurisdiction} --local {self.local}{extra}")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.injected:
            out[item["cause"]] = out.get(item["cause"], 0) + 1
        return out

    def write(self, path: Path) -> None:
        doc = {"jurisdiction": self.jurisdiction, "year": self.year, "seed": self.seed,
               "persons": self.persons, "records": self.records, "export": self.export,
               "roster": self.roster, "local": self.local, "med_types": self.med_types,
               "command": self.command(), "counts": self.counts(),
               "injected": self.injected}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name.split(".")[0] + ".manifest.json")


def local_path(out: Path) -> Path:
    return out.with_name(out.name.split(".")[0] + ".local.json")


def roster_path(out: Path) -> Path:
    suffix = ".csv" if out.suffix.lower() in (".csv", ".xlsx") else ".parquet"
    return out.with_name(out.name.split(".")[0] + ".roster" + suffix)


def _cert(index: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=index // 1000)
    return idcard.make("320102", born, index % 1000)


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


class _Builder:
    def __init__(self, jurisdiction: str, persons: int, year: int, seed: int) -> None:
        self.j, self.year, self.seed = jurisdiction, year, seed
        self.policy = model.versions(jurisdiction)[-1]
        self.code_of = {c.id: c.idet_type for c in self.policy.spec.categories}
        rows: dict[str, list[Any]] = {k: [] for k in (
            "psn_no", "certno", "psn_name", "setl_id", "mdtrt_id", "med_type", "secs",
            "fixmedins", "begndate", "enddate", "medfee", "fulamt", "overlmt", "preself",
            "hifp", "hifmi", "oth", "referral", "hospital_level", "heroic_injury",
            "rare_disease", "mdtrtarea_admvs", "first_code", "person")}
        roster: dict[str, list[Any]] = {k: [] for k in (
            "certno", "psn_name", "category", "start", "end", "application",
            "disability_grade", "tilted_application")}
        rng = random.Random(seed)
        for index in range(persons):
            py = synthfile.person_year(jurisdiction, year, seed, index)
            cert, name = _cert(index), f"人员{index:06d}"
            p = py.person
            for ident in p.identities:
                roster["certno"].append(cert)
                roster["psn_name"].append(name)
                roster["category"].append(ident.category)
                roster["start"].append(ident.start)
                roster["end"].append(ident.end)
                roster["application"].append(ident.application)
                roster["disability_grade"].append(p.disability_grade)
                roster["tilted_application"].append(p.tilted_application)
            first_code = self.code_of.get(p.identities[0].category) if p.identities else None
            for k, v in enumerate(py.visits):
                at = len(rows["psn_no"])
                rows["psn_no"].append(f"P{seed:04d}{index:08d}")
                rows["certno"].append(cert)
                rows["psn_name"].append(name)
                rows["setl_id"].append(f"S{seed:04d}{at:010d}")
                rows["mdtrt_id"].append(f"M{seed:04d}{at:010d}")
                rows["med_type"].append(MED_TYPE[v.kind])
                # the visits' own order within the day: a minute apart from 08:00
                rows["secs"].append(_days(v.end) * 86_400 + 8 * 3600 + 60 * k
                                    + rng.randrange(60))
                rows["fixmedins"].append(rng.randrange(len(HOSPITALS)))
                rows["begndate"].append(v.start)
                rows["enddate"].append(v.end)
                for name_, value in (("medfee", v.medfee_sumamt), ("fulamt", v.fulamt_ownpay_amt),
                                     ("overlmt", v.overlmt_selfpay),
                                     ("preself", v.preselfpay_amt), ("hifp", v.hifp_pay),
                                     ("hifmi", v.hifmi_pay), ("oth", v.oth_pay)):
                    rows[name_].append(value)
                rows["referral"].append(v.referral)
                rows["hospital_level"].append(v.hospital_level)
                rows["heroic_injury"].append(v.heroic_injury)
                rows["rare_disease"].append(v.rare_disease)
                rows["mdtrtarea_admvs"].append(TREATED[v.location])
                rows["first_code"].append(first_code)
                rows["person"].append(index)
        self.rows = {k: np.asarray(v, object if k in (
            "psn_no", "certno", "psn_name", "setl_id", "mdtrt_id", "med_type", "begndate",
            "enddate", "referral", "mdtrtarea_admvs", "first_code", "hospital_level")
            else np.int64) for k, v in rows.items()}
        self.roster = roster
        self.n = len(rows["psn_no"])
        self.persons = persons

    # -- tables ----------------------------------------------------------------------------
    def table(self, order: I64, maf: I64, sign: I64, init: list[str | None],
              setl: list[str], secs: I64, idet: list[str | None]) -> pa.Table:
        r = self.rows

        def take(name: str) -> npt.NDArray[Any]:
            return r[name][order]

        def yuan(fen: I64) -> pa.Array:
            raw = np.empty((len(fen), 2), np.int64)
            raw[:, 0], raw[:, 1] = fen, np.where(fen < 0, -1, 0)
            return pa.Array.from_buffers(pa.decimal128(18, 2), len(fen),
                                         [None, pa.py_buffer(raw.tobytes())])

        amounts = {name: take(src) * sign for name, src in (
            ("medfee_sumamt", "medfee"), ("fulamt_ownpay_amt", "fulamt"),
            ("overlmt_selfpay", "overlmt"), ("preselfpay_amt", "preself"),
            ("hifp_pay", "hifp"), ("hifmi_pay", "hifmi"), ("oth_pay", "oth"))}
        inscp = (amounts["medfee_sumamt"] - amounts["fulamt_ownpay_amt"]
                 - amounts["overlmt_selfpay"] - amounts["preselfpay_amt"])
        hospital = take("fixmedins")
        cols: dict[str, pa.Array] = {
            "psn_no": pa.array(take("psn_no"), pa.string()),
            "certno": pa.array(take("certno"), pa.string()),
            "psn_name": pa.array(take("psn_name"), pa.string()),
            "setl_id": pa.array(setl, pa.string()),
            "mdtrt_id": pa.array(take("mdtrt_id"), pa.string()),
            "med_type": pa.array(take("med_type"), pa.string()),
            "setl_time": pa.array(secs.astype("datetime64[s]")),
            "fixmedins_code": pa.array([HOSPITALS[h][0] for h in hospital.tolist()],
                                       pa.string()),
            "fixmedins_name": pa.array([HOSPITALS[h][1] for h in hospital.tolist()],
                                       pa.string()),
            "begndate": pa.array(take("begndate"), pa.date32()),
            "enddate": pa.array(take("enddate"), pa.date32()),
            **{k: yuan(v) for k, v in amounts.items()},
            "inscp_scp_amt": yuan(inscp),
            "maf_pay": yuan(maf),
            "psn_idet_type": pa.array(idet, pa.string()),
            "init_setl_id": pa.array(init, pa.string()),
            "insuplc_admdvs": pa.array(np.full(len(order), INSURED), pa.string()),
            "mdtrtarea_admvs": pa.array(take("mdtrtarea_admvs"), pa.string()),
            "referral": pa.array(take("referral"), pa.string()),
            "hospital_level": pa.array(take("hospital_level"), pa.int8()),
            "heroic_injury": pa.array(take("heroic_injury").astype(bool)),
            "rare_disease": pa.array(take("rare_disease").astype(bool)),
        }
        return pa.table(cols)

    def roster_table(self, left_out: set[int]) -> pa.Table:
        r = self.roster
        keep = [k for k, c in enumerate(r["certno"]) if _index(c) not in left_out]
        return pa.table({
            "certno": pa.array([r["certno"][k] for k in keep], pa.string()),
            "psn_name": pa.array([r["psn_name"][k] for k in keep], pa.string()),
            "category": pa.array([r["category"][k] for k in keep], pa.string()),
            "start": pa.array([r["start"][k] for k in keep], pa.date32()),
            "end": pa.array([r["end"][k] for k in keep], pa.date32()),
            "application": pa.array([r["application"][k] for k in keep], pa.date32()),
            "disability_grade": pa.array([r["disability_grade"][k] for k in keep], pa.int8()),
            "tilted_application": pa.array([r["tilted_application"][k] for k in keep],
                                           pa.date32()),
        })


_CERT_INDEX: dict[str, int] = {}


def _index(cert: str) -> int:
    if cert not in _CERT_INDEX:
        born = date(int(cert[6:10]), int(cert[10:12]), int(cert[12:14]))
        _CERT_INDEX[cert] = (born - date(1940, 1, 1)).days * 1000 + int(cert[14:17])
    return _CERT_INDEX[cert]


def _write(table: pa.Table, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, path, compression="lz4")
    elif suffix == ".csv":
        cols = {}
        for name in table.column_names:
            c = table.column(name)
            if pa.types.is_timestamp(c.type):
                c = c.cast(pa.string())  # 2023-03-10 14:22:01
            cols[name] = c
        pacsv.write_csv(pa.table(cols), path)
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        from medaid.core import sheets

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(table.column_names)
        for row in zip(*(c.to_pylist() for c in table.columns), strict=True):
            ws.append([str(v) if v is not None and not isinstance(v, (int, float))
                       else v for v in row])
        sheets.save(wb, path)
    else:
        raise InputError("--out", "the export is .parquet, .csv or .xlsx")


def _roster_write(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
        return
    heads = {"certno": "身份证号", "psn_name": "姓名", "category": "人员类别",
             "start": "认定日期", "end": "退出日期", "application": "申请日期",
             "disability_grade": "残疾等级", "tilted_application": "倾斜救助申请日期"}
    t = table.rename_columns([heads[n] for n in table.column_names])
    pacsv.write_csv(t, path)


def write(jurisdiction: str, persons: int, year: int, out: str | Path, seed: int = 0,
          rate: float = 0.001, per_kind: int = 1) -> Manifest:
    """Write the export, its roster and the manifest; `rate` of the records of each kind
    (at least `per_kind` where the data allow one) carry an error."""
    synthfile.check(jurisdiction, persons, year, seed)
    out = Path(out)
    b = _Builder(jurisdiction, persons, year, seed)
    versions = model.versions(jurisdiction)
    local = synthfile.local_of(jurisdiction, year, seed)
    rng = np.random.default_rng(seed + 1)
    n = b.n
    quota = max(per_kind, round(rate * n))
    folder = out.parent
    scratch = folder / (out.name.split(".")[0] + ".scratch.parquet")
    roster_file = roster_path(out)
    scratch_roster = folder / (out.name.split(".")[0] + ".scratch.roster.parquet")

    # pass 1: every visit settled once, as the platform would have paid it
    base = np.arange(n, dtype=np.int64)
    setl = [str(s) for s in b.rows["setl_id"]]
    secs = b.rows["secs"]
    first_out = _settle(b, base, np.zeros(n, np.int64), np.ones(n, np.int64),
                        [None] * n, setl, secs, set(), versions, local, scratch,
                        scratch_roster)
    paid1 = first_out.medaid.copy()

    # structure: persons left out of the roster, visits cancelled (and settled again),
    # visits settled twice
    persons_paid = np.unique(b.rows["person"][paid1 > 0])
    left_out = set(rng.choice(persons_paid, min(len(persons_paid), quota), replace=False)
                   .tolist()) if len(persons_paid) else set()
    paid_idx = np.flatnonzero((paid1 > 0) & ~np.isin(b.rows["person"], list(left_out)))
    pick = rng.permutation(paid_idx)
    n_dup = min(quota, len(pick) // 4)
    n_short = min(quota, len(pick) // 4)
    dup, short = pick[:n_dup], pick[n_dup:n_dup + n_short]
    others = np.setdiff1d(np.arange(n), np.concatenate([dup, short]))
    again = rng.choice(others, min(len(others), max(1, int(RESETTLED * n))), replace=False)

    order: list[int] = []
    sign: list[int] = []
    init: list[str | None] = []
    ids: list[str] = []
    when: list[int] = []
    kind: list[str] = []  # "": a settlement; "reversal", "resettled", "duplicate"

    def add(i: int, sg: int, first: str | None, setl_id: str, t: int, what: str) -> None:
        order.append(i)
        sign.append(sg)
        init.append(first)
        ids.append(setl_id)
        when.append(t)
        kind.append(what)

    extra = 0
    dup_set, short_set, again_set = set(dup.tolist()), set(short.tolist()), set(again.tolist())
    for i in range(n):
        add(i, 1, None, setl[i], int(secs[i]), "")
        if i in dup_set or i in short_set or i in again_set:
            extra += 1
            tag = f"S{seed:04d}X{extra:09d}"
            if i in dup_set:  # settled again, no cancellation
                add(i, 1, None, tag, int(secs[i]) + 20, "duplicate")
                continue
            add(i, -1, setl[i], tag + "C", int(secs[i]) + 20, "reversal")
            if i in again_set:
                add(i, 1, None, tag, int(secs[i]) + 40, "resettled")
    o = np.asarray(order, np.int64)
    sg = np.asarray(sign, np.int64)
    tm = np.asarray(when, np.int64)
    kinds = np.asarray(kind, object)

    # pass 2: what medaid pays for the export as it now stands
    out2 = _settle(b, o, np.zeros(len(o), np.int64), sg, init, ids, tm, left_out, versions,
                   local, scratch, scratch_roster)
    correct = out2.medaid.copy()
    maf = correct.copy()
    # cancelled settlements were paid at the time; their cancellations take it back
    orig_of = {}
    for k in range(len(o)):
        if kinds[k] == "":
            orig_of[int(o[k])] = k
    for k in np.flatnonzero(out2.status == CANCELLED).tolist():
        maf[k] = paid1[o[k]]
    for k in np.flatnonzero(out2.status == REVERSAL).tolist():
        maf[k] = -maf[orig_of[int(o[k])]]
    injected: dict[int, str] = {}
    for k in np.flatnonzero(out2.status == DUPLICATE).tolist():
        first = orig_of[int(o[k])]
        maf[k] = maf[first] if maf[first] > 0 else int(paid1[o[k]])
        if maf[k] > 0:
            injected[k] = "duplicate"
    for k in np.flatnonzero(out2.status == REVERSAL).tolist():
        first = orig_of[int(o[k])]
        if int(o[k]) in short_set and maf[first] > 0:
            maf[k] = -(maf[first] - int(rng.integers(1, maf[first] + 1)))
            injected[first] = "cancel_net"

    idet: list[str | None] = []
    cat_names = out2.category_names
    first_code = b.rows["first_code"]
    for k in range(len(o)):
        c = int(out2.category_code[k])
        idet.append(b.code_of.get(cat_names[c]) if c >= 0 else first_code[o[k]])

    live = np.flatnonzero(out2.status == LIVE)
    free = np.ones(len(o), bool)
    free[list(injected)] = False
    chosen = _Chooser(rng, quota, free)

    # not in the roster: a visit of a person left out, paid
    gone = live[np.isin(b.rows["person"][o[live]], list(left_out))]
    gone = gone[paid1[o[gone]] > 0]
    seen_person: set[int] = set()
    for k in rng.permutation(gone).tolist():
        p = int(b.rows["person"][o[k]])
        if p in seen_person:
            continue
        seen_person.add(p)
        maf[k] = paid1[o[k]]
        injected[k] = "not_in_roster"
        free[k] = False
    # no identity in force: after exit, before recognition, otherwise
    finder = found_causes._Causes(out2)
    none = live[(out2.category_code[live] < 0) & (out2.roster_of[out2.person[live]] >= 0)]
    by_cause: dict[str, list[int]] = {}
    for k in none.tolist():
        if not free[k]:
            continue
        by_cause.setdefault(finder.identity(k).cause, []).append(k)
    room = _room(b, o)
    for cause, ks in by_cause.items():
        for k in chosen.take(ks):
            maf[k] = max(1, int(room[k] * rng.uniform(0.1, 0.9)))
            injected[k] = cause
    paid = live[(correct[live] > 0) & free[live]]
    for k in chosen.take(paid.tolist()):
        maf[k] = 0
        injected[k] = "missed"

    # the changes the audit tries, on every person-year where a category is in force
    todo = live[free[live] & (out2.category_code[live] >= 0)]
    caps = _again(out2, todo, _variants(tuple(out2.versions), "caps"))
    ded = _again(out2, todo, _variants(tuple(out2.versions), "deductible"))
    rnd = _again(out2, todo, _variants(tuple(out2.versions), "rounding"))
    # another category's ratio
    codes = sorted({c for c in b.code_of.values() if c})
    by_code: dict[str, list[str]] = {}
    for cat in b.policy.spec.categories:
        if cat.idet_type:
            by_code.setdefault(cat.idet_type, []).append(cat.id)
    cands = [k for k in todo.tolist() if out2.category_code[k] >= 0]
    rng.shuffle(cands)
    alt_code: dict[int, str] = {}
    for k in cands[: 8 * quota + 8]:
        mine = idet[k]
        other = [c for c in codes if c != mine]
        if other:
            alt_code[k] = other[int(rng.integers(len(other)))]
    alt_val: dict[int, int] = {}
    for code in sorted(set(alt_code.values())):
        these = np.asarray([k for k, c in alt_code.items() if c == code], np.int64)
        got = _again(out2, these, None, by_code[code][0])
        alt_val.update({int(k): int(got[k]) for k in these.tolist()})
    ok = [k for k in alt_code if free[k] and alt_val[k] > 0 and alt_val[k] != correct[k]]
    for k in chosen.take(ok):
        maf[k] = alt_val[k]
        idet[k] = alt_code[k]
        injected[k] = "other_category"
    ok = [k for k in todo.tolist() if free[k] and caps[k] > correct[k]]
    for k in chosen.take(ok):
        maf[k] = caps[k]
        injected[k] = "cap_exceeded"
    ok = [k for k in todo.tolist() if free[k] and ded[k] > correct[k] and ded[k] != caps[k]]
    for k in chosen.take(ok):
        maf[k] = ded[k]
        injected[k] = "deductible"
    ok = [k for k in todo.tolist() if free[k] and rnd[k] != correct[k] and rnd[k] > 0
          and abs(int(rnd[k]) - int(correct[k])) <= 100
          and (rnd[k] < correct[k] or (rnd[k] != caps[k] and rnd[k] != ded[k]))]
    for k in chosen.take(ok):
        maf[k] = rnd[k]
        injected[k] = "rounding"
    for cause, more in (("over_other", True), ("under_other", False)):
        ok = [k for k in todo.tolist() if free[k] and (more or correct[k] > 1)]
        for k in chosen.take(ok):
            for _ in range(20):
                top = 10_000 if more else min(10_000, int(correct[k]) - 1)
                d = int(rng.integers(1, top + 1))
                v = int(correct[k]) + (d if more else -d)
                if v not in (int(caps[k]), int(ded[k]), int(rnd[k])) and v > 0:
                    maf[k] = v
                    injected[k] = cause
                    break

    table = b.table(o, maf, sg, init, ids, tm, idet)
    _write(table, out)
    _roster_write(b.roster_table(left_out), roster_file)
    scratch.unlink(missing_ok=True)
    scratch_roster.unlink(missing_ok=True)
    first_row = 2 if out.suffix.lower() in (".csv", ".xlsx") else 1
    order_causes = {c: k for k, c in enumerate(KINDS)}
    items = [{"row": k + first_row, "setl_id": ids[k], "cause": c, "label": CAUSES[c],
              "platform": str(to_yuan(int(maf[k]) + (int(maf[out2.partner[k]])
                                                     if c == "cancel_net" else 0))),
              "medaid": str(to_yuan(int(correct[k])))}
             for k, c in sorted(injected.items(), key=lambda kv: (order_causes[kv[1]], kv[0]))]
    local_path(out).write_text(dumps(local) + "\n", encoding="utf-8")
    m = Manifest(jurisdiction, year, seed, persons, len(o), out.name, roster_file.name,
                 dict(LOCAL_MED_TYPES), items, local_path(out).name)
    m.write(manifest_path(out))
    return m


class _Chooser:
    """Up to `quota` records of each kind, drawn at random, each record used once."""

    def __init__(self, rng: np.random.Generator, quota: int, free: npt.NDArray[np.bool_]
                 ) -> None:
        self.rng, self.quota, self.free = rng, quota, free

    def take(self, ks: Sequence[int]) -> list[int]:
        ks = [k for k in ks if self.free[k]]
        if not ks:
            return []
        got = self.rng.choice(np.asarray(ks, np.int64), min(self.quota, len(ks)),
                              replace=False).tolist()
        self.free[got] = False
        return [int(k) for k in got]


def _room(b: _Builder, o: I64) -> I64:
    r = b.rows
    room = (r["medfee"] - r["fulamt"] - r["overlmt"] - r["preself"] - r["hifp"] - r["hifmi"]
            - r["oth"])[o]
    return np.asarray(np.maximum(room, 100), np.int64)


def _again(out: Outcome, records: I64, versions: Sequence[Policy] | None,
           category: str | None = None) -> I64:
    """Per record of the export: its maf_pay with the change (−1 where not settled)."""
    got = np.full(len(out.records), -1, np.int64)
    if len(records):
        rs, maf, _ = resettle.settle_again(out, np.asarray(records, np.int64), versions,
                                           category)
        got[rs] = maf
    return np.asarray(got, np.int64)


def _settle(b: _Builder, order: I64, maf: I64, sign: I64, init: list[str | None],
            setl: list[str], secs: I64, left_out: set[int], versions: list[Policy],
            local: dict[str, object], scratch: Path, scratch_roster: Path) -> Outcome:
    pq.write_table(b.table(order, maf, sign, init, setl, secs, [None] * len(order)), scratch)
    pq.write_table(b.roster_table(left_out), scratch_roster)
    med = {**fields.MED_TYPES, **LOCAL_MED_TYPES}
    rec = reading.read_export(scratch, med)
    ids = rosters.read_roster(scratch_roster, versions[-1])
    return resettle.run(rec, ids, versions, local, explain=False)
