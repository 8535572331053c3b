"""The API's own policies, set on every view so that a host's ``REST_FRAMEWORK`` setting changes nothing.

DRF reads its defaults from the host's settings; an app that relied on them would be open to
anonymous writes in a host that never configured authentication. Every view of ``automations.api``
derives from :class:`APIPolicy`, which names each policy explicitly.
"""
from __future__ import annotations

from typing import Any, Callable

from django.utils.module_loading import import_string
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from automations.api.errors import PayloadTooLarge, exception_handler
from automations.api.parsers import StrictJSONParser
from automations.api.permissions import ModelPermissions
from automations.api.schema import APISchema
from automations.conf import app_settings
from billing_events.errors import InvalidInput


class Pagination(PageNumberPagination):
    """Every list, catalogues included: 50 items a page, ``?page=n`` (a positive whole number, else a 404)."""

    page_size = 50
    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Any) -> str:
        number = request.query_params.get(self.page_query_param)
        if number is not None and not (number.isascii() and number.isdigit()):
            raise NotFound(self.invalid_page_message.format(page_number=number, message="not a page number"))
        return super().get_page_number(request, paginator)


class APIPolicy:
    """Mixin for every API view: authentication (``AUTOMATIONS["API_AUTHENTICATION"]``, by default
    token, then session: a token's ``WWW-Authenticate`` header makes an anonymous request a 401),
    model permissions (and any ``AUTOMATIONS["API_PERMISSIONS"]`` besides), JSON only, pagination,
    filters, the error format and the schema."""

    permission_classes = [ModelPermissions]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = Pagination
    filter_backends = [DjangoFilterBackend]
    content_negotiation_class = DefaultContentNegotiation
    metadata_class = SimpleMetadata
    versioning_class = None
    schema = APISchema()

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [authentication() for authentication in configured_classes("API_AUTHENTICATION")]

    def get_permissions(self) -> list[BasePermission]:
        return [*super().get_permissions(),  # type: ignore[misc]
                *(permission() for permission in configured_classes("API_PERMISSIONS"))]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Refused before anything reads it (Django's DATA_UPLOAD_MAX_MEMORY_SIZE, if lower, applies too).
        limit = app_settings.API_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit and length > limit:
            raise PayloadTooLarge(limit)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        for name, value in request.query_params.items():
            # The database cannot compare NUL characters: a 400 rather than a 500.
            if "\x00" in name or "\x00" in value:
                raise InvalidInput("query parameters must not contain NUL characters", field=name.replace("\x00", ""))
            if value == "":  # ?status= is a mistake, not "any status"
                raise InvalidInput("must not be empty (leave the parameter out instead)", field=name)
        if "\x00" in request.path:
            raise InvalidInput("the path must not contain NUL characters", field="path")


def configured_classes(setting: str) -> list[type]:
    """The classes ``AUTOMATIONS[setting]`` names (checked by ``manage.py check``)."""
    return [import_string(path) if isinstance(path, str) else path for path in getattr(app_settings, setting)]
