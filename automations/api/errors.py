"""Errors as API responses: every 4xx body is ``{"errors": [{"field": ..., "message": ...}]}``.

``field`` is the dotted path of the input at fault (``steps.wait_3d.duration``, ``data.invoice.id``,
a query parameter's name), or ``""`` when the request as a whole is refused (not signed in, no such
object, method not allowed, malformed JSON, body too large).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from billing_events.errors import Refused

Errors = list[dict[str, str]]


class PayloadTooLarge(exceptions.APIException):
    """A request body over the API's size limit (413)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")


def flatten(detail: Any, field: str = "") -> Errors:
    """DRF's nested validation detail (dicts of fields, lists of messages) as ``{"field", "message"}`` items."""
    if isinstance(detail, dict):
        errors: Errors = []
        for key, value in detail.items():
            name = "" if key == api_settings.NON_FIELD_ERRORS_KEY else str(key)
            errors += flatten(value, f"{field}.{name}" if field and name else field or name)
        return errors
    if isinstance(detail, list):
        errors = []
        for index, item in enumerate(detail):
            errors += flatten(item, f"{field}[{index}]" if isinstance(item, (dict, list)) else field)
        return errors
    return [{"field": field, "message": str(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status codes, ``WWW-Authenticate``, ``Retry-After``), with every body in the one format."""
    if isinstance(exc, Refused):
        return Response({"errors": exc.errors}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"errors": [{"field": "", "message": message} for message in exc.messages]},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):  # Django's own limit, DATA_UPLOAD_MAX_MEMORY_SIZE, when it is lower
        exc = PayloadTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": flatten(exc.detail)}
    else:
        response.data = {"errors": [{"field": "", "message": str(response.data.get("detail", ""))}]}
    return response
