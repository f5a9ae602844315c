"""Bearer tokens for admins (app.tokens): list, create, revoke, rotate; all audited.

A token's text is in the answer that creates it (create, rotate) and nowhere else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from medaid.api.caller import ActorDep
from medaid.api.routes import ERRORS, _run, reply
from medaid.api.schemas import RowId, body
from medaid.app import auth, records, tokens
from medaid.app.uow import UnitOfWork
from medaid.app.wire import ROOT, parse_body
from medaid.engine.case import as_choice, as_district, as_whole, known_fields
from medaid.store.models import ROLES

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERRORS)


class TokenIn(BaseModel):
    role: str = Field(description="hospital, caseworker, finance, admin or auditor")
    fixmedins_code: str | None = Field(None, description="a hospital token's institution")
    district: str | None = Field(None, description="a caseworker token's district")
    days: int | None = Field(None, description=f"lifetime in days (default "
                                                f"{tokens.LIFETIME_DAYS})")


class RotateIn(BaseModel):
    grace_days: int | None = Field(None, description=f"days the old token keeps working "
                                                      f"(default {tokens.GRACE_DAYS}; 0: none)")
    days: int | None = Field(None, description="the new token's lifetime in days")


def _optional_whole(raw: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = raw.get(name)
    return None if value is None else as_whole(value, f"{ROOT}.{name}", low, high)


def _body(raw: bytes) -> dict[str, Any]:
    return parse_body(raw) if raw.strip() else {}


@router.get("", summary="令牌列表: the tokens")
async def list_tokens(request: Request, actor: ActorDep,
                      ended: Annotated[bool, Query(description="revoked and expired too")
                                       ] = False,
                      sessions: Annotated[bool, Query(description="users' login sessions too")
                                          ] = False) -> Response:
    """Tokens that still work (admins only), never their text."""
    auth.require(actor, "admin")

    def work(uow: UnitOfWork) -> Response:
        rows = tokens.listing(uow, actor, ended, sessions)
        code = tokens.codes(uow, rows)
        return reply({"tokens": [tokens.token_json(r, code) for r in rows]})

    return await _run(request, work)


@router.post("", status_code=201, summary="发放令牌: create a token",
             openapi_extra=body(TokenIn))
async def create_token(request: Request, actor: ActorDep) -> Response:
    """`{role, fixmedins_code (hospital), district (caseworker), days}`: the token's text
    is in this answer only."""
    auth.require(actor, "admin")
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given = parse_body(raw)
        known_fields(given, ("role", "fixmedins_code", "district", "days"), ROOT)
        role = as_choice(given.get("role"), f"{ROOT}.role", ROLES, "role")
        code = given.get("fixmedins_code")
        inst = None if code is None else records.institution_by_code(uow, str(code))
        district = given.get("district")
        district = None if district is None else as_district(district, f"{ROOT}.district")
        issued = tokens.create(uow, actor, role, inst.id if inst else None, district,
                               _optional_whole(given, "days", 1, tokens.MAX_DAYS))
        out = tokens.token_json(issued.row, {} if inst is None else {inst.id: inst.code})
        return reply(out | {"token": issued.text}, 201)

    return await _run(request, work)


@router.post("/{token_id}/revoke", summary="吊销令牌: revoke a token")
async def revoke_token(token_id: RowId, request: Request, actor: ActorDep) -> Response:
    auth.require(actor, "admin")

    def work(uow: UnitOfWork) -> Response:
        row = tokens.revoke(uow, actor, token_id)
        return reply(tokens.token_json(row, tokens.codes(uow, [row])))

    return await _run(request, work)


@router.post("/{token_id}/rotate", status_code=201, summary="轮换令牌: rotate a token",
             openapi_extra=body(RotateIn, required=False))
async def rotate_token(token_id: RowId, request: Request, actor: ActorDep) -> Response:
    """`{grace_days, days}` (both optional): a new token of the same role and scope; the
    old one works for `grace_days` more (default 7)."""
    auth.require(actor, "admin")
    raw = await request.body()

    def work(uow: UnitOfWork) -> Response:
        given = _body(raw)
        known_fields(given, ("grace_days", "days"), ROOT)
        new, old = tokens.rotate(
            uow, actor, token_id,
            _optional_whole(given, "grace_days", 0, tokens.MAX_GRACE_DAYS),
            _optional_whole(given, "days", 1, tokens.MAX_DAYS))
        code = tokens.codes(uow, [new.row, old])
        return reply(tokens.token_json(new.row, code) | {
            "token": new.text, "replaces": tokens.token_json(old, code)}, 201)

    return await _run(request, work)
