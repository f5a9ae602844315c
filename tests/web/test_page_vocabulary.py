"""Every page of the demo, as every role, is in the words a caseworker or a patient reads:
no English of the trace vocabulary (the English labels of medaid.core.labels, the codes of
pools and categories, the engine's notation), no internal file name (a seed document's
`000_….txt`, RULES.md).

The demo is the screenshots' (`demo.screenshots.seed`: the service's demo, users, roster
and applications, two settled stays, a settled year with its warnings, referrals, fund
year and indicators). Each role starts at 首页 and follows every link to a page (not a
download), at most a few of each kind of detail page.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import sign_in

import medaid.seeds
from medaid.api.app import create_app
from medaid.app.uow import UnitOfWork
from medaid.core import labels
from medaid.demo import screenshots
from medaid.policy import model

ROLES = ("admin", "auditor", "caseworker", "finance", "hospital")
PER_KIND = 4  # detail pages of one kind (a person, a warning, a settlement …) per role
# Not pages: downloads, and the report files a tool wrote (a reform simulation's, a payment
# audit's: served as files under their own sandbox, in that tool's words).
SKIP = re.compile(r"^/(static|logout)|/export|/pdf$|^/api/|^/docs|/report\.html$|"
                  r"^/policy/reforms/")


def forbidden() -> list[str]:
    """What a page must not show: the English of the labels and the engine's words, code
    names, internal file names."""
    words = {"R(F)", "RULES.md", "CASE.md", "DESIGN.md", "highest benefit", "never stacked",
             "in force on", "first day of the month", "deductible", "base "}
    for table in (labels.KINDS, labels.TIERS, labels.POOLS, labels.REFERRALS, labels.LOCATIONS):
        for code, (_, english) in table.items():
            words.add(english)
            if "_" in code:
                words.add(code)
    for j in model.jurisdictions():
        for version in model.versions(j):
            words |= {c.id for c in version.spec.categories if c.id.isascii() and
                      not c.id.isdigit() and len(c.id) > 3}
    seeds = Path(medaid.seeds.__file__).parent
    words |= {p.name for p in seeds.glob("*.txt")}
    return sorted(words, key=len, reverse=True)


WORDS = forbidden()
# A word, not part of a longer one, nor a recorded key or reference (an audit entry's
# `settlement:…` object or `status=…` detail is shown as it was recorded).
PATTERN = re.compile("|".join(rf"(?<![A-Za-z_=]){re.escape(w)}(?![A-Za-z_:=])" for w in WORDS))


def visible(page: str) -> str:
    """The text a reader sees: no scripts, styles, tags or attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def kind(path: str) -> str:
    """A page's kind: its path with the ids taken out."""
    bare = path.split("?")[0]
    return re.sub(r"/[^/]*\d[^/]*", "/#", bare)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, str]]]:
    app = create_app(f"sqlite:///{tmp_path_factory.mktemp('walk') / 'medaid.sqlite'}")
    with UnitOfWork(app.state.sessions) as uow:
        passwords, _, _ = screenshots.seed(uow)
    yield app, passwords
    app.state.engine.dispose()


def walk(c: TestClient) -> dict[str, str]:
    """Path → visible text of every page reached from 首页."""
    seen: dict[str, str] = {}
    per_kind: Counter[str] = Counter()
    queue = ["/"]
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        r = c.get(path)
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        seen[path] = visible(r.text)
        for link in re.findall(r'href="(/[^"#]*)"', r.text):
            link = html.unescape(link)
            if link in seen or SKIP.search(link) or link in queue:
                continue
            if per_kind[kind(link)] >= PER_KIND:
                continue
            per_kind[kind(link)] += 1
            queue.append(link)
    return seen


def test_the_forbidden_words_are_the_trace_vocabulary() -> None:
    assert {"outpatient_cap", "dibao", "R(F)", "RULES.md", "000_a8d7d8e3c7e8d865.txt",
            "the outpatient cap", "inpatient"} <= set(WORDS)
    assert PATTERN.search("基数 R(F) 4552.07") and PATTERN.search("依据 RULES.md §3")
    assert not PATTERN.search("最低生活保障对象 NJ-A2 《宁政办发〔2023〕1号》（四）")


@pytest.mark.parametrize("role", ROLES)
def test_every_page_speaks_chinese_to_every_role(demo: tuple[object, dict[str, str]],
                                                 role: str) -> None:
    app, passwords = demo
    c = TestClient(app, follow_redirects=False)
    sign_in(c, role, passwords[role])
    pages = walk(c)
    assert len(pages) >= 5, sorted(pages)  # it did walk
    found = {path: sorted({m.group(0) for m in PATTERN.finditer(text)})
             for path, text in pages.items()}
    assert {p: w for p, w in found.items() if w} == {}
