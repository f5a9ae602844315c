"""Strict request bodies: a field the API does not know is a 422 naming it, never ignored.

Each route that reads a JSON body documents it (`openapi_extra=body(Model)`, the schema at
/docs); that schema is also the list of fields the route accepts. `api.caller.strict_body`,
a dependency of the API's routers, makes `wire.parse_body` refuse a body with a field the
schema does not name, at any depth, by its JSON path (`{"error": {"path": "$.othpay",
"message": "未知字段（是否应为 oth_pay？） / unknown field (did you mean oth_pay?)"}}`). A
misspelt amount would otherwise settle as if it were absent, and overpay. A settlement
request's and a person's schema are those of the models that parse them
(`medaid.engine.case`, with `additionalProperties: false`), so for them this check and the
model's agree; the other routes validate their values with `medaid.engine.case`'s
converters.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from medaid.core.errors import InputError
from medaid.engine.case import unknown_message

ROOT = "$"
_BODY_SCHEMA: ContextVar[dict[str, Any] | None] = ContextVar("body_schema", default=None)


def route_schema(route: Any) -> dict[str, Any] | None:
    """The body schema a route documents (None: none)."""
    extra = getattr(route, "openapi_extra", None) or {}
    schema = extra.get("requestBody", {}).get("content", {}).get("application/json", {})
    found: dict[str, Any] | None = schema.get("schema")
    return found


def check(value: Any, schema: dict[str, Any], path: str = ROOT) -> None:
    """Refuse the first field of `value` (parsed JSON) that `schema` does not name."""
    if isinstance(value, dict):
        props = _object_schema(schema)
        if props is None:
            return
        for name, item in value.items():
            if name not in props:
                raise InputError(f"{path}.{name}", unknown_message(str(name), props))
            check(item, props[name], f"{path}.{name}")
    elif isinstance(value, list):
        items = _alternative(schema, "items")
        if items is not None:
            for i, item in enumerate(value):
                check(item, items, f"{path}[{i}]")


def _alternative(schema: dict[str, Any], key: str) -> Any:
    """`schema[key]`, or that of its one alternative that has it (an optional model)."""
    if key in schema:
        return schema[key]
    found = [s[key] for s in schema.get("anyOf", []) + schema.get("oneOf", [])
             if isinstance(s, dict) and key in s]
    return found[0] if len(found) == 1 else None


def _object_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The properties an object may have; None: any (a free-form object, or more than one
    shape)."""
    props = _alternative(schema, "properties")
    if props is None or schema.get("additionalProperties") not in (None, False):
        return None
    return dict(props)


def expect(schema: dict[str, Any] | None) -> None:
    """The schema `check_body` checks this request's body against (None: none), for a
    handler that is not one of FastAPI's routes (api.fast)."""
    _BODY_SCHEMA.set(schema)


def check_body(value: Any) -> None:
    """Check a parsed request body against its route's schema (none: nothing to check)."""
    schema = _BODY_SCHEMA.get()
    if schema is not None:
        check(value, schema)
