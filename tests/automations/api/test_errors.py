"""One error format for every 4xx: ``{"errors": [{"field": ..., "message": ...}]}``, always JSON."""
from __future__ import annotations

import json

import pytest

from billing_events.catalogue import get_event_type
from billing_events.models import Event

pytestmark = pytest.mark.django_db


def errors_of(response) -> list[dict[str, str]]:
    """The errors of a 4xx response, after checking that the body is JSON in the one format."""
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"] and body["errors"]
    assert all(set(error) == {"field", "message"} and error["message"] for error in body["errors"])
    return body["errors"]


def event_body(event_id: str = "evt_err_1", **overrides) -> dict:
    return {"id": event_id, "type": "customer.created", "occurred_at": "2026-11-20T09:00:00Z",
            "data": get_event_type("customer.created").sample_data(), **overrides}


@pytest.mark.parametrize("path", ["/api/events/", "/api/automations/"])
def test_malformed_json_is_a_400(api, path):
    response = api.post(path, b'{"id": "evt_1", "type": ', content_type="application/json")
    assert response.status_code == 400
    assert errors_of(response)[0]["message"].startswith("JSON parse error")


@pytest.mark.parametrize("path", ["/api/events/", "/api/automations/"])
def test_json_nested_1000_levels_deep_is_a_400(api, path):
    body = '{"id": "evt_deep", "type": "customer.created", "data": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"
    response = api.post(path, body.encode(), content_type="application/json")
    assert response.status_code == 400
    assert "nest" in errors_of(response)[0]["message"]
    assert not Event.objects.exists()


def test_json_nested_a_little_too_deep_is_a_400_too(api):
    response = api.post("/api/events/", json.dumps(event_body(data={"customer": {"id": "c", "metadata": {
        "x": json.loads("[" * 120 + "]" * 120)}}})), content_type="application/json")
    assert response.status_code == 400 and not Event.objects.exists()


def test_unknown_fields_are_400s_naming_them(api, dunning):
    response = api.post("/api/events/", {**event_body(), "colour": "red"}, format="json")
    assert response.status_code == 400
    assert errors_of(response) == [{"field": "colour", "message": "is not a known field"}]
    assert not Event.objects.exists()
    test = api.post(f"/api/automations/{dunning.pk}/test/", {"data": {}, "dry": True}, format="json")
    assert errors_of(test) == [{"field": "dry", "message": "is not a known field"}]
    run = api.post(f"/api/automations/{dunning.pk}/run/", {"context": {}}, format="json")
    assert errors_of(run) == [{"field": "context", "message": "is not a known field"}]


def test_wrong_json_types_are_400s(api, dunning):
    assert errors_of(api.post("/api/events/", event_body(id=5), format="json"))[0]["field"] == "id"
    assert errors_of(api.post(f"/api/automations/{dunning.pk}/test/", {"version": "1"}, format="json"))[0][
        "field"] == "version"


@pytest.mark.parametrize("body", [False, True, 0, "x", [], None])
def test_a_body_that_is_not_an_object_is_a_400_for_run_and_test(api, dunning, body):
    for action in ("run", "test"):
        response = api.post(f"/api/automations/{dunning.pk}/{action}/", json.dumps(body),
                            content_type="application/json")
        assert response.status_code == 400, (action, body)
        errors_of(response)
    assert not dunning.executions.exists()


@pytest.mark.parametrize("path", ["/api/automations/999/", "/api/executions/999/cancel/", "/api/events/nope/",
                                  "/api/automations/1/nope/", "/api/templates/nope/instantiate/",
                                  "/api/automations/?page=9", "/api/executions/x/y/z/",
                                  "/api/automations/x%0A/versions/1/"])
def test_not_found_is_json(api, path):
    response = api.post(path, {}, format="json") if "instantiate" in path or "cancel" in path else api.get(path)
    assert response.status_code == 404
    errors_of(response)


def test_a_missing_trailing_slash_is_a_json_404_that_says_so(api):
    response = api.get("/api/automations")
    assert response.status_code == 404
    assert "did you mean /api/automations/ ?" in errors_of(response)[0]["message"]


def test_method_not_allowed_is_json_with_allow(api, dunning):
    response = api.put("/api/executions/1/", {}, format="json")
    assert response.status_code == 405 and "GET" in response["Allow"]
    assert errors_of(response)[0]["message"] == 'Method "PUT" not allowed.'


def test_unsupported_media_type_is_json(api):
    response = api.post("/api/events/", "id=evt_1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "Unsupported media type" in errors_of(response)[0]["message"]


def test_not_acceptable_is_json(api):
    response = api.get("/api/events/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    errors_of(response)


def test_unauthenticated_and_forbidden_are_json(anonymous, stranger):
    unauthenticated = anonymous.get("/api/automations/")
    assert unauthenticated.status_code == 401 and unauthenticated["WWW-Authenticate"] == "Token"
    assert errors_of(unauthenticated) == [{"field": "", "message": "Authentication credentials were not provided."}]
    forbidden = stranger.get("/api/automations/")
    assert forbidden.status_code == 403
    errors_of(forbidden)


@pytest.mark.parametrize("debug", [False, True])
def test_a_5_mb_body_is_a_413_in_json_whatever_debug_is(api, settings, debug):
    settings.DEBUG = debug
    body = json.dumps(event_body(data={"customer": {"id": "c", "name": "x" * 5_000_000}})).encode()
    response = api.post("/api/events/", body, content_type="application/json")
    assert response.status_code == 413
    assert errors_of(response) == [{"field": "", "message": "the request body is larger than 1048576 bytes"}]
    assert not Event.objects.exists()


def test_djangos_lower_upload_limit_is_a_413_too(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/events/", event_body(data={"customer": {"id": "c", "name": "x" * 2000}}),
                        format="json")
    assert response.status_code == 413
    assert errors_of(response)[0]["message"] == "the request body is larger than 1000 bytes"


def test_the_body_limit_is_a_setting(api, settings):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "API_MAX_BODY_BYTES": 100}
    assert api.post("/api/events/", event_body(), format="json").status_code == 413


def test_an_event_id_sent_again_with_a_different_body_is_a_409(api):
    first = api.post("/api/events/", event_body(), format="json")
    assert first.status_code == 201
    assert api.post("/api/events/", event_body(), format="json").status_code == 200, "the same body again"
    changed = event_body()
    changed["data"]["customer"]["email"] = "someone.else@example.com"
    for body in (changed, event_body(type="payment.failed", data=get_event_type("payment.failed").sample_data()),
                 event_body(occurred_at="2026-11-21T09:00:00Z")):
        response = api.post("/api/events/", body, format="json")
        assert response.status_code == 409
        [error] = errors_of(response)
        assert error["field"] == "id" and "already received with a different body" in error["message"]
    assert Event.objects.get().data == event_body()["data"]


@pytest.mark.parametrize("duration", ["99999999999d", "P99999999999D"])
def test_a_duration_longer_than_a_date_can_hold_is_a_400(api, duration):
    response = api.post("/api/automations/", {"name": "Long", "trigger": {"type": "manual"},
                                              "steps": [{"key": "wait", "type": "delay", "duration": duration}]},
                        format="json")
    assert response.status_code == 400
    assert errors_of(response)[0]["field"] == "steps.wait.duration"


def test_whole_numbers_written_with_a_fraction_are_integers(api, dunning):
    response = api.post(f"/api/automations/{dunning.pk}/test/", b'{"version": 1.0}', content_type="application/json")
    assert response.status_code == 200 and response.json()["version"] == 1


def test_a_hosts_throttling_answers_429_in_the_same_format(api, settings, monkeypatch):
    from rest_framework.throttling import UserRateThrottle
    from rest_framework.views import APIView

    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"user": "1/min"}}
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min"})
    monkeypatch.setattr(APIView, "throttle_classes", [UserRateThrottle])
    assert api.get("/api/event-types/").status_code == 200
    throttled = api.get("/api/event-types/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert "throttled" in errors_of(throttled)[0]["message"]


@pytest.mark.parametrize("field, step", [
    ("steps.wait.duration", {"key": "wait", "type": "delay", "duration": "999999w"}),
    ("steps.wait.offset", {"key": "wait", "type": "delay", "until": "{{ invoice.due_date }}", "offset": "-99999d"}),
])
def test_a_duration_longer_than_ten_years_is_a_400_naming_the_field(api, field, step):
    response = api.post("/api/automations/", {"name": "Long", "trigger": {"type": "manual"}, "steps": [step]},
                        format="json")
    assert response.status_code == 400
    [error] = errors_of(response)
    assert error["field"] == field and "longer than 10 years" in error["message"]
