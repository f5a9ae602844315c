"""Hostile input: oversized bodies 413, deeply nested JSON 422 (never a 5xx), and
schemathesis over the OpenAPI document — positive and negative cases for every operation,
with an admin token, on SQLite and PostgreSQL — finds no 5xx.

The examples per operation and mode: 25 in CI, 5 in `make test` (tests/runs.py), or
SCHEMATHESIS_EXAMPLES. CI fuzzes both databases; `make test` fuzzes PostgreSQL where it has
one, since that is where a database refuses what SQLite stores (a NUL in a text, an integer
past a column's range), and SQLite only without it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from api_helpers import World, visit
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from databases import BACKENDS, POSTGRES
from medaid.api import limits
from runs import examples

EXAMPLES = examples(25, "SCHEMATHESIS_EXAMPLES")
SETTLE = "/api/v1/settlements"
FUZZED = [pytest.param("sqlite", marks=[pytest.mark.slow] if POSTGRES else []), *BACKENDS[1:]]


def _is_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["status"] == status and error["message"]
    return dict(error)


def test_an_oversized_body_is_413(world: World) -> None:
    hospital = world.institution()
    world.person()
    big = visit(mdtrt_id="M" * (limits.MAX_BODY + 1))
    _is_error(world.client.post(SETTLE, headers=hospital, json=big), 413)

    def chunks() -> Any:  # streamed, no Content-Length: refused once past the limit
        for _ in range(limits.MAX_BODY // 65536 + 2):
            yield b" " * 65536

    error = _is_error(world.client.post(SETTLE, headers=hospital, content=chunks()), 413)
    assert "1 MiB" in error["message"]
    # just under the limit is read (and refused for what it says, not for its size)
    padded = b"{" + b" " * (limits.MAX_BODY - 2) + b"}"
    assert world.client.post(SETTLE, headers=hospital, content=padded).status_code == 422
    r = world.client.post(SETTLE, headers=hospital, json=visit())
    assert r.status_code == 201, r.text


def test_a_roster_upload_may_be_larger(world: World) -> None:
    csv = b"\xef\xbb\xbf" + b"x" * (2 * limits.MAX_BODY)  # 2 MiB: read, then refused as bad
    r = world.client.post("/api/v1/rosters", headers=world.admin, files={
        "file": ("r.csv", csv, "text/csv")}, data={"jurisdiction": "nanjing",
                                                  "district": "320102", "mode": "complete"})
    assert r.status_code == 422, r.text
    too_big = b"x" * (limits.MAX_UPLOAD + 1)
    _is_error(world.client.post("/api/v1/rosters", headers=world.admin, files={
        "file": ("r.csv", too_big, "text/csv")}), 413)


# the depth is refused by the ASGI middleware before any handler or database: one suffices
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("depth", [limits.MAX_DEPTH + 1, 5000, 150_000])
@pytest.mark.parametrize("path", [SETTLE, f"{SETTLE}/preview", "/api/v1/persons",
                                  "/api/v1/rosters", "/api/v1/login"])
def test_deeply_nested_json_is_refused(world: World, path: str, depth: int) -> None:
    for opening, closing in ((b"[", b"]"), (b'{"a":', b"}")):
        body = opening * depth + b"1" + closing * depth
        error = _is_error(world.client.post(path, headers=world.admin, content=body), 422)
        assert "nested deeper" in error["message"]
    # brackets inside strings do not count; nesting up to the limit is parsed as usual
    r = world.client.post(path, headers=world.admin, content=b'{"x": "' + b"[" * 10000 + b'"}')
    assert r.status_code < 500 and "nested deeper" not in r.text
    nested = b"[" * limits.MAX_DEPTH + b"]" * limits.MAX_DEPTH
    r = world.client.post(path, headers=world.admin, content=nested)
    assert r.status_code < 500 and "nested deeper" not in r.text, r.text


def test_json_depth() -> None:
    assert limits.json_depth(b'{"a": [1, {"b": "]]]["}]}') == 3
    assert limits.json_depth(b'{"a": "\\"[[[[["}') == 1
    assert limits.json_depth(b"[" * 100 + b"]" * 100, stop=10) == 11
    assert limits.json_depth(b"") == 0
    assert not limits.too_deep(b"[" * 10 + b"]" * 10, 10)
    assert limits.too_deep(b"[" * 11 + b"]" * 11, 10)
    assert not limits.too_deep(b"[]" * 100, 10)


@pytest.mark.parametrize("database_url", FUZZED, indirect=True)
def test_schemathesis_finds_no_5xx(world: World) -> None:
    """Every operation of the OpenAPI document, fuzzed positively and negatively."""
    hospital = world.institution()
    world.person()
    assert world.client.post(SETTLE, headers=hospital, json=visit()).status_code == 201
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    failures: list[str] = []
    calls = 0
    statuses: Counter[int] = Counter()
    nothing_to_negate: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=True)
            def fuzz(case: Any) -> None:
                nonlocal calls
                calls += 1
                case.headers = {**(case.headers or {}), **world.admin}  # always the token
                r = case.call()
                statuses[r.status_code] += 1
                if r.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} → {r.status_code}: "
                                    f"{case.as_curl_command()} {r.text[:200]}")

            try:
                fuzz()
            except Unsatisfiable:  # nothing to negate: an operation without any input
                assert mode is GenerationMode.NEGATIVE, operation.label
                nothing_to_negate.append(operation.label)
    print(f"schemathesis: {len(operations)} operations, {calls} calls, statuses "
          f"{dict(sorted(statuses.items()))}; no negative cases for {nothing_to_negate}")
    assert set(nothing_to_negate) <= {"GET /api/v1/health"}
    assert calls >= len(operations) * EXAMPLES
    assert not failures, "\n".join(failures[:20])
