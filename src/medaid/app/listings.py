"""Lists to work from, in the scope of the one who asks (docs/SECURITY.md): persons by
district and category; settlements by date, hospital, person and category; a payment
batch's settlements. A caseworker sees its district's persons and their settlements, a
hospital its own settlements, finance, admins and auditors everything. Every list is
audited with its filters and how many it found, never with what the rows hold.

A list is read a page at a time (`PAGE` rows), or whole for an export (at most `EXPORT`
rows: a longer one asks for narrower filters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.orm import selectinload

from medaid.app import auth
from medaid.app.auth import READ_ALL, Actor
from medaid.app.funds import get_batch
from medaid.app.uow import UnitOfWork
from medaid.core import clock
from medaid.core.dates import BEIJING, add_months
from medaid.core.errors import Forbidden, InputError
from medaid.registry import idcard
from medaid.store.models import Adjustment, Identity, Institution, Person, Settlement

PAGE = 50
EXPORT = 50_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    rows: list[T]
    total: int
    page: int  # from 1
    pages: int


@dataclass(frozen=True, slots=True)
class PersonRow:
    psn_no: str
    name: str
    certno: str  # masked for the roles that get ID numbers masked
    jurisdiction: str
    district: str
    categories: list[str]  # identities in force today


@dataclass(frozen=True, slots=True)
class SettlementRow:
    setl_id: str
    entry: str  # settle | cancel | adjust (a re-settlement's adjustment, in a batch)
    settled_at: Any  # datetime (UTC)
    end: date
    hospital: str
    fixmedins_code: str
    psn_no: str
    name: str
    district: str
    jurisdiction: str
    category: str | None
    kind: str
    medfee_sumamt: int  # fen
    hifp_pay: int
    hifmi_pay: int
    maf_pay: int
    psn_part_amt: int


@dataclass(frozen=True, slots=True)
class SettlementFilters:
    first: date | None = None  # 出院/就诊日期 from
    last: date | None = None  # … to
    hospital: str | None = None  # fixmedins_code
    psn_no: str | None = None
    category: str | None = None
    district: str | None = None


def _page(query: Any, count: Select[Any], uow: UnitOfWork, page: int | None
          ) -> tuple[list[Any], int, int, int]:
    total = int(uow.session.scalar(count) or 0)
    if page is None:  # the whole list, for an export
        if total > EXPORT:
            raise InputError("page", f"共 {total} 条，超过导出上限 {EXPORT} 条：请缩小筛选范围 / "
                                     f"{total} rows: narrow the filters")
        return list(uow.session.execute(query)), total, 1, 1
    pages = max(1, -(-total // PAGE))
    if not 1 <= page <= pages:
        raise InputError("page", f"页码应在 1 至 {pages} 之间 / page 1 to {pages}")
    rows = list(uow.session.execute(query.limit(PAGE).offset((page - 1) * PAGE)))
    return rows, total, page, pages


def _district_scope(actor: Actor, district: str | None) -> str | None:
    """A caseworker's own district (another one asked for is refused); others: as asked."""
    if actor.role == "caseworker":
        if district and district != actor.district:
            raise Forbidden(f"区经办只能查看本辖区 / a caseworker sees district "
                            f"{actor.district} only")
        return actor.district
    return district or None


def persons(uow: UnitOfWork, actor: Actor, district: str | None, category: str | None,
            page: int | None = 1) -> Paged[PersonRow]:
    auth.require(actor, "caseworker", *READ_ALL)
    district = _district_scope(actor, district)
    today = clock.today()
    where = []
    if district:
        where.append(Person.district == district)
    if category:
        where.append(exists().where(
            Identity.person_id == Person.id, Identity.category == category,
            Identity.from_date <= today,
            (Identity.to_date.is_(None)) | (Identity.to_date >= today)))
    query = (select(Person).options(selectinload(Person.identities)).where(*where)
             .order_by(Person.district, Person.psn_no))
    count = select(func.count()).select_from(Person).where(*where)
    found, total, page_no, pages = _page(query, count, uow, page)
    rows = [PersonRow(p.psn_no, p.name, p.certno if actor.sees_ids else idcard.mask(p.certno),
                      p.jurisdiction, p.district,
                      sorted({i.category for i in p.identities if i.from_date <= today
                              and (i.to_date is None or i.to_date >= today)}))
            for (p,) in found]
    uow.commit_audited(actor.subject, "person.list", "persons",
                       {"district": district, "category": category, "found": total,
                        "export": page is None})
    return Paged(rows, total, page_no, pages)


_SETTLEMENT_COLUMNS = (Settlement.setl_id, Settlement.kind, Settlement.created_at,
                       Settlement.end, Institution.name, Institution.code, Settlement.psn_no,
                       Person.name, Person.district, Person.jurisdiction, Settlement.category,
                       Settlement.visit_kind, Settlement.medfee_sumamt, Settlement.hifp_pay,
                       Settlement.hifmi_pay, Settlement.maf_pay, Settlement.psn_part_amt)


def _scoped(actor: Actor) -> list[Any]:
    if actor.role == "hospital":
        return [Settlement.institution_id == actor.institution_id]
    if actor.role == "caseworker":
        return [Person.district == actor.district]
    auth.require(actor, *READ_ALL)
    return []


def settlements(uow: UnitOfWork, actor: Actor, f: SettlementFilters, page: int | None = 1
                ) -> Paged[SettlementRow]:
    where = _scoped(actor)
    district = _district_scope(actor, f.district) if actor.role != "hospital" else f.district
    if f.first is not None and f.last is not None and f.last < f.first:
        raise InputError("last", "结束日期早于开始日期 / the last day is before the first")
    if f.first is not None:
        where.append(Settlement.end >= f.first)
    if f.last is not None:
        where.append(Settlement.end <= f.last)
    for value, column in ((f.hospital, Institution.code), (f.psn_no, Settlement.psn_no),
                          (f.category, Settlement.category), (district, Person.district)):
        if value:
            where.append(column == value)
    joined = (select(*_SETTLEMENT_COLUMNS)
              .join(Institution, Institution.id == Settlement.institution_id)
              .join(Person, Person.id == Settlement.person_id).where(*where))
    count = (select(func.count()).select_from(Settlement)
             .join(Institution, Institution.id == Settlement.institution_id)
             .join(Person, Person.id == Settlement.person_id).where(*where))
    found, total, page_no, pages = _page(
        joined.order_by(Settlement.end.desc(), Settlement.id.desc()), count, uow, page)
    uow.commit_audited(actor.subject, "settlement.list", "settlements",
                       {k: str(v) for k, v in asdict(f).items() if v} |
                       {"found": total, "export": page is None})
    return Paged([SettlementRow(*r) for r in found], total, page_no, pages)


def batch_settlements(uow: UnitOfWork, actor: Actor, batch_id: int) -> list[SettlementRow]:
    """What a payment batch pays: its institution's settlements and cancellations made in
    the batch's month (Beijing time) and the month's re-settlement adjustments that go to
    the batch, as `funds.month_assistance` sums them; a caseworker: its district's."""
    batch = get_batch(uow, actor, batch_id)  # scope: a hospital its own, a caseworker its lines
    first, after = _moment(batch.month), _moment(add_months(batch.month, 1))
    district = actor.district if actor.role == "caseworker" else None
    rows: list[SettlementRow] = []
    for table, extra in ((Settlement, []), (Adjustment, [Adjustment.route == "batch"])):
        query = (select(*(_adjustment_columns() if table is Adjustment else _SETTLEMENT_COLUMNS))
                 .join(Institution, Institution.id == table.institution_id)
                 .join(Person, Person.id == table.person_id)
                 .where(table.institution_id == batch.institution_id,
                        table.created_at >= first, table.created_at < after, *extra,
                        *([Person.district == district] if district else []))
                 .order_by(table.created_at, table.id))
        rows += [SettlementRow(*r) for r in uow.session.execute(query)]
    uow.commit_audited(actor.subject, "batch.settlements", f"batch:{batch_id}",
                       {"found": len(rows)})
    return rows


def _adjustment_columns() -> tuple[Any, ...]:
    s = Settlement
    return (Adjustment.adj_id, literal("adjust"), Adjustment.created_at,
            select(s.end).where(s.id == Adjustment.settlement_id).scalar_subquery(),
            Institution.name, Institution.code, Adjustment.psn_no, Person.name,
            Person.district, Person.jurisdiction, Adjustment.category,
            select(s.visit_kind).where(s.id == Adjustment.settlement_id).scalar_subquery(),
            literal(0), Adjustment.hifp_pay, Adjustment.hifmi_pay,
            Adjustment.maf_pay, Adjustment.psn_part_amt)


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)

