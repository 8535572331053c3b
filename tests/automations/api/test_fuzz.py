"""Schema-driven fuzzing: schemathesis generates requests from the live OpenAPI schema for every
operation; none may answer with a server error."""
from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.fixture
def token(db, django_user_model):
    # Requests share the test's transaction, as with Django's test client.
    request_started.disconnect(close_old_connections)
    user = django_user_model.objects.create_superuser("fuzz", "fuzz@example.com", "pw")
    yield Token.objects.create(user=user).key
    request_started.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_input_makes_a_server_error(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])
