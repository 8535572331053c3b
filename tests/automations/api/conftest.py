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
