"""The OpenAPI document is what the API accepts: each settlement endpoint's request schema
is made from the models that parse it (medaid.engine.case, from medaid.policy.fields), so its
properties, required fields and `additionalProperties: false` are theirs; every instance
of the schema is accepted by the model, and a field the schema does not name is refused."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medaid.api.app import create_app
from medaid.core.errors import InputError
from medaid.engine.case import SettleVisitIn, VisitIn, parse_json, parse_model
from medaid.policy import fields

ENDPOINTS = {"/api/v1/settlements/preview": (VisitIn, ()),
             "/api/v1/settlements": (SettleVisitIn, ("medins_setl_id",))}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'api.sqlite'}"
    return dict(create_app(url, docs=True).openapi())


def request_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    body = document["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    return dict(body["content"]["application/json"]["schema"])


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_schema_is_the_models(document: dict[str, Any], path: str) -> None:
    model, also_required = ENDPOINTS[path]
    schema = request_schema(document, path)
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == list(model.model_fields) == \
        [f.name for f in fields.REQUEST]
    assert schema["required"] == [f.name for f in fields.REQUEST
                                  if f.required or f.name in also_required]
    props = schema["properties"]
    assert props["medfee_sumamt"]["maximum"] == fields.MAX_VISIT_YUAN
    assert props["mdtrt_id"]["maxLength"] == fields.ID_CHARS
    assert props["psn_no"]["maxLength"] == fields.PSN_NO_CHARS


def instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of a JSON schema of the kinds the request schemas use (none other)."""
    if "anyOf" in schema:
        return st.one_of([instances(s) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema["type"]
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    if kind == "number":  # fen as yuan with two decimals, as JSON text
        top = int(Decimal(str(schema["maximum"])) * 100)
        return st.integers(0, top).map(lambda fen: Decimal(fen) / 100)
    if kind == "string" and schema.get("format") == "date":
        return st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(str)
    if kind == "string" and schema.get("pattern") == "\\S":
        printable = st.characters(categories=["L", "N", "P", "S"])
        return st.text(printable, min_size=schema["minLength"], max_size=schema["maxLength"])
    if kind == "object":
        props = schema["properties"]
        optional = [n for n in props if n not in schema["required"]]
        return st.fixed_dictionaries(
            {n: instances(props[n]) for n in schema["required"]},
            optional={n: instances(props[n]) for n in optional})
    raise AssertionError(f"a schema the generator does not know: {schema}")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_instance_of_the_schema_is_accepted(document: dict[str, Any], path: str) -> None:
    model, _ = ENDPOINTS[path]
    schema = request_schema(document, path)

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(instances(schema))
    def accepted(body: dict[str, Any]) -> None:
        text = json.dumps({k: float(v) if isinstance(v, Decimal) else v
                           for k, v in body.items()})
        parsed = parse_model(model, parse_json(text), "$")
        assert parsed.psn_no == body["psn_no"]
        unknown = (r"^\$\.medfee_sumamtt: 未知字段（是否应为 medfee_sumamt？） / "
                   r"unknown field \(did you mean medfee_sumamt\?\)$")
        with pytest.raises(InputError, match=unknown):
            parse_model(model, parse_json(text) | {"medfee_sumamtt": 1}, "$")

    accepted()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_required_field_absent_is_refused(document: dict[str, Any], path: str) -> None:
    model, _ = ENDPOINTS[path]
    schema = request_schema(document, path)
    full = {"psn_no": "P-1", "mdtrt_id": "M-1", "medins_setl_id": "S-1", "start": "2023-03-01",
            "end": "2023-03-10", "medfee_sumamt": Decimal(100), "fulamt_ownpay_amt": Decimal(0),
            "overlmt_selfpay": Decimal(0)}
    parse_model(model, full, "$")
    for name in schema["required"]:
        with pytest.raises(InputError) as refused:
            parse_model(model, {k: v for k, v in full.items() if k != name}, "$")
        assert refused.value.path == f"$.{name}"
