"""Errors as API responses: a user's bad input is a 400 naming each field, never a 500."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_events.errors import InvalidInput


def invalid_input_response(exc: InvalidInput) -> Response:
    """``{"errors": [{"field", "message"}, ...], "<field>": ["message", ...]}``."""
    return Response({"errors": exc.errors, **exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, InvalidInput):
        return invalid_input_response(exc)
    if isinstance(exc, DjangoValidationError):
        return Response({"errors": [{"field": "", "message": message} for message in exc.messages]},
                        status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
