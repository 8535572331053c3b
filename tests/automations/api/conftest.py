"""API clients: a superuser, a user without permissions, nobody."""
from __future__ import annotations

import copy

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(db, django_user_model) -> APIClient:
    return token_client(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))


@pytest.fixture
def stranger(db, django_user_model) -> APIClient:
    return token_client(django_user_model.objects.create_user("nobody", "nobody@example.com", "pw"))


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def definition(db):
    """The library's dunning definition, its email templates installed."""
    from automations import library

    library.install_email_templates("payment_dunning")
    return copy.deepcopy(library.get_template("payment_dunning")["definition"])


@pytest.fixture
def drf_defaults(settings, monkeypatch):
    """A host that leaves DRF to its own defaults (``REST_FRAMEWORK = {}``). DRF copies its settings
    into class attributes when it is imported, so those are rebuilt from the reloaded settings too."""
    from rest_framework import generics, pagination, views
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {}  # sends setting_changed: api_settings reloads
    for attribute, setting in [
        ("renderer_classes", "DEFAULT_RENDERER_CLASSES"), ("parser_classes", "DEFAULT_PARSER_CLASSES"),
        ("authentication_classes", "DEFAULT_AUTHENTICATION_CLASSES"),
        ("throttle_classes", "DEFAULT_THROTTLE_CLASSES"), ("permission_classes", "DEFAULT_PERMISSION_CLASSES"),
        ("content_negotiation_class", "DEFAULT_CONTENT_NEGOTIATION_CLASS"),
        ("metadata_class", "DEFAULT_METADATA_CLASS"), ("versioning_class", "DEFAULT_VERSIONING_CLASS"),
    ]:
        monkeypatch.setattr(views.APIView, attribute, getattr(api_settings, setting))
    monkeypatch.setattr(generics.GenericAPIView, "pagination_class", api_settings.DEFAULT_PAGINATION_CLASS)
    monkeypatch.setattr(generics.GenericAPIView, "filter_backends", api_settings.DEFAULT_FILTER_BACKENDS)
    monkeypatch.setattr(pagination.PageNumberPagination, "page_size", api_settings.PAGE_SIZE)
    assert api_settings.DEFAULT_PERMISSION_CLASSES[0].__name__ == "AllowAny"
