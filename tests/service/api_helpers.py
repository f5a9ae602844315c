"""Helpers for the API tests: the World a test drives, a settlement request, ID numbers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from medaid.app import auth
from medaid.app.uow import UnitOfWork
from medaid.registry import idcard
from medaid.store.models import Institution


@dataclass
class World:
    """The API over a fresh database, with an admin token and helpers to set things up."""

    client: TestClient
    admin: dict[str, str]

    @property
    def sessions(self) -> Any:
        return self.client.app.state.sessions  # type: ignore[attr-defined]

    def token(self, role: str, institution: str | None = None,
              district: str | None = None) -> dict[str, str]:
        with UnitOfWork(self.sessions) as uow:
            inst_id = None
            if institution is not None:
                inst_id = uow.session.scalars(select(Institution.id).where(
                    Institution.code == institution)).one()
            token = auth.issue(uow, role, inst_id, district)
            uow.commit()
        return {"Authorization": f"Bearer {token}"}

    def institution(self, code: str = "H32010200001", jurisdiction: str = "nanjing",
                    district: str = "320102", level: int | None = 3) -> dict[str, str]:
        """Create an institution; its hospital token's headers."""
        r = self.client.post("/api/v1/institutions", headers=self.admin, json={
            "fixmedins_code": code, "name": f"医院 {code}", "jurisdiction": jurisdiction,
            "district": district, "level": level})
        assert r.status_code == 201, r.text
        return self.token("hospital", code)

    def person(self, psn_no: str = "P-001", jurisdiction: str = "nanjing",
               identities: list[dict[str, Any]] | None = None, district: str = "320102",
               **extra: Any) -> dict[str, Any]:
        body = {"psn_no": psn_no, "certno": certno(psn_no, district), "name": "张三",
                "jurisdiction": jurisdiction, "district": district,
                "identities": identities if identities is not None else [
                    {"category": "dibao", "department": "民政", "from": "2023-01-15"}]} | extra
        r = self.client.post("/api/v1/persons", headers=self.admin, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def parameter(self, jurisdiction: str, name: str, value: Any, year: int | None = None
                  ) -> None:
        r = self.client.post("/api/v1/parameters", headers=self.admin, json={
            "jurisdiction": jurisdiction, "name": name, "value": value, "year": year,
            "source": "test"})
        assert r.status_code == 200, r.text

    def year(self, headers: dict[str, str], psn_no: str = "P-001", year: int = 2023
             ) -> dict[str, Any]:
        r = self.client.get(f"/api/v1/persons/{psn_no}/years/{year}", headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


def pool(year: dict[str, Any], name: str) -> dict[str, Any]:
    """One pool of a person's year (used 0 when the year has not touched it)."""
    return next((p for p in year["pools"] if p["pool"] == name), {"used": 0})


def certno(seed: str, district: str = "320102") -> str:
    """A valid ID number drawn from `seed` (distinct seeds: distinct numbers, in practice)."""
    h = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return idcard.make(district, date(1940, 1, 1) + timedelta(days=h % 29000), h >> 20)


def visit(**fields: Any) -> dict[str, Any]:
    """A settlement request: Nanjing's worked inpatient stay (examples/nj-dibao-inpatient)."""
    return {"medins_setl_id": "S-1", "mdtrt_id": "M-1", "psn_no": "P-001", "med_type": "21",
            "start": "2023-03-01", "end": "2023-03-10", "medfee_sumamt": 60000,
            "fulamt_ownpay_amt": 5000, "overlmt_selfpay": 0, "preselfpay_amt": 1000,
            "hifp_pay": 35000, "hifmi_pay": 3000} | fields
