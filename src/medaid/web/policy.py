"""政策 Policy: each jurisdiction's rules with the text of the articles they cite (from
the seed documents), its parameters, the JS-X report of a city against a provincial
framework, and the policy-simulation reports `make reforms` leaves in out/reforms/.

A simulation report is served as a file of its own under a sandboxing Content-Security-
Policy (no script, no forms, no access to this site's cookies or pages), and only a file
that is in a report's folder, by an exact name from its listing.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse

from medaid.app.uow import UnitOfWork
from medaid.core import labels
from medaid.core.errors import MedaidError, NotFound
from medaid.policy import conformance, explain, model
from medaid.policy.articles import ArticleNotFound
from medaid.web.guard import Visitor
from medaid.web.render import page, render

router = APIRouter()

REFORMS = "MEDAID_REFORMS_DIR"  # where `make reforms` writes (default out/reforms)
_FILE = re.compile(r"[A-Za-z0-9_-]{1,80}\.(html|png|xlsx|md)")
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
MEDIA = {"html": "text/html; charset=utf-8", "png": "image/png", "md": "text/markdown",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
REPORT_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; "
                                             "style-src 'unsafe-inline'",
                  "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

WHAT = {code: zh for code, (zh, _) in labels.POLICY_PARTS.items()}
FACTS = {code: zh for code, (zh, _) in labels.POLICY_FACTS.items()}
VERDICTS = {code: zh for code, (zh, _) in labels.VERDICTS.items()}


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    title: str


def reports_dir() -> FilePath:
    return FilePath(os.environ.get(REFORMS, "out/reforms"))


def reports() -> list[Report]:
    """The simulation reports present (a folder with a report.html)."""
    root = reports_dir()
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        page_file = entry / "report.html"
        if page_file.is_file():
            head = page_file.read_text(encoding="utf-8", errors="replace")[:4000]
            title = _TITLE.search(head)
            found.append(Report(entry.name, html.unescape(title.group(1)).strip()
                                if title else entry.name))
    return found


def frameworks() -> list[model.Policy]:
    return [explain.find_policy(j) for j in model.jurisdictions()
            if explain.find_policy(j).spec.framework]


@router.get("/policy")
async def policies(request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        listed = [(j, model.versions(j)) for j in model.jurisdictions()]
        return render(who, "policies.html", active="policy", listed=listed,
                      frameworks=frameworks(), reports=reports())

    return await page(request, "policy", work)


Jurisdiction = Annotated[str, Path(max_length=40)]


@router.get("/policy/{jurisdiction}")
async def policy_page(jurisdiction: Jurisdiction, request: Request,
                      version: Annotated[str | None, Query(max_length=20)] = None
                      ) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        policy = _find(jurisdiction, version)
        shown = []
        for e in explain.elements(policy):
            try:
                quote = policy.article_text(e.article, e.document) if e.article else ""
            except ArticleNotFound as missing:
                quote = f"（未找到条款原文：{missing}）"
            shown.append((e, quote))
        return render(who, "policy.html", active="policy", policy=policy, shown=shown,
                      versions=model.versions(jurisdiction), params=explain.parameters(policy),
                      WHAT=WHAT, FACTS=FACTS, frameworks=frameworks(),
                      readable=explain.readable(policy))

    return await page(request, "policy", work)


@router.get("/policy/{jurisdiction}/conformance")
async def conformance_page(jurisdiction: Jurisdiction, request: Request,
                           against: Annotated[str, Query(max_length=40)] = "jiangsu"
                           ) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        report = conformance.check(_find(jurisdiction, None), _find(against, None))
        return render(who, "conformance.html", active="policy", r=report, VERDICTS=VERDICTS,
                      readable=explain.readable(report.city, report.framework))

    return await page(request, "policy", work)


def _find(jurisdiction: str, version: str | None) -> model.Policy:
    try:
        return explain.find_policy(jurisdiction, version)
    except MedaidError as e:
        raise NotFound("jurisdiction", str(e)) from None


@router.get("/policy/reforms/{name}/{file}")
async def report_file(name: Annotated[str, Path(max_length=120)],
                      file: Annotated[str, Path(max_length=90)], request: Request) -> Response:
    def work(uow: UnitOfWork, who: Visitor) -> Response:
        known = {r.name for r in reports()}
        kind = _FILE.fullmatch(file)
        path = reports_dir() / name / file
        if name not in known or kind is None or not path.is_file():
            raise NotFound("file", f"没有这份报告文件 / no report file {name}/{file}")
        return FileResponse(path, media_type=MEDIA[kind.group(1)], headers=REPORT_HEADERS)

    return await page(request, "policy", work)
