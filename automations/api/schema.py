"""How the API describes itself in its OpenAPI schema."""
from __future__ import annotations

from typing import Any, Callable

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema


class APISchema(AutoSchema):
    """drf-spectacular's schema, named on every view so that a host's ``DEFAULT_SCHEMA_CLASS`` does not matter."""


def document(**kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``extend_schema`` built on :class:`APISchema`: drf-spectacular would otherwise build a method's
    schema on the host's ``DEFAULT_SCHEMA_CLASS``, which may not be drf-spectacular's."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        if not hasattr(method, "kwargs"):
            method.kwargs = {}  # type: ignore[attr-defined]
        method.kwargs.setdefault("schema", APISchema)  # type: ignore[attr-defined]
        return extend_schema(**kwargs)(method)

    return decorator
