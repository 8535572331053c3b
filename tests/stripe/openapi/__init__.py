"""Requests to and answers from a Stripe stub, checked against Stripe's OpenAPI description."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema

EXTRACT = Path(__file__).with_name("stripe-extract.json")


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return json.loads(EXTRACT.read_text())


def _json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a null alternative, and
    references point into the extract."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _operation(path: str) -> tuple[str, dict[str, Any]]:
    """The extract's path template matching ``path`` (``/v1/customers/cus_1/...``), and its POST."""
    for template, item in spec()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template, item["post"]
    raise AssertionError(f"POST {path} is not in the OpenAPI extract")


def _nest(form: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[key]=v``, ``lines[0][amount]=5``) as nested values."""
    result: dict[str, Any] = {}
    for name, value in form:
        keys = re.findall(r"[^\[\]]+", name)
        target: Any = result
        for key, following in zip(keys, keys[1:]):
            target = target.setdefault(key, [] if following.isdigit() else {}) if isinstance(target, dict) else target
        target[keys[-1]] = value
    return result


def _typed(value: Any, schema: dict[str, Any]) -> Any:
    """A form value (always text) as the type the schema gives it."""
    kinds = [schema] + list(schema.get("anyOf") or [])
    if isinstance(value, str):
        if any(kind.get("type") == "integer" for kind in kinds) and re.fullmatch(r"-?\d+", value):
            return int(value)
        if any(kind.get("type") == "boolean" for kind in kinds) and value in ("true", "false"):
            return value == "true"
    if isinstance(value, dict):
        properties = next((kind.get("properties") for kind in kinds if kind.get("properties")), {})
        return {key: _typed(item, properties.get(key, {})) for key, item in value.items()}
    return value


def check_request(path: str, body: bytes) -> dict[str, Any]:
    """The form ``body`` POSTed to ``path`` as the values it carries, if the OpenAPI description
    accepts it (else an AssertionError naming what it refuses)."""
    _template, operation = _operation(path)
    schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    values = _typed(_nest(parse_qsl(body.decode(), keep_blank_values=True)), schema)
    _validate(values, schema, f"POST {path}")
    return values


def check_response(path: str, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` if it is what the OpenAPI description says POST ``path`` answers."""
    _template, operation = _operation(path)
    _validate(answer, operation["responses"]["200"]["content"]["application/json"]["schema"], f"the answer to {path}")
    return answer


def _validate(value: Any, schema: dict[str, Any], what: str) -> None:
    document = {**_json_schema(schema), "components": _json_schema(spec()["components"])}
    try:
        jsonschema.validate(value, document)
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"{what} does not follow Stripe's OpenAPI description: {exc.message} "
                             f"(at {'/'.join(map(str, exc.absolute_path)) or 'the top'})") from None
