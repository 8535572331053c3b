"""Optimistic concurrency on drafts: a read gives the draft's revision (ETag and ``revision``); a save
or an activation that names an older one is refused with a 412 naming who saved since, when and what."""
from __future__ import annotations

import copy
from datetime import timedelta
import pytest

from automations import clock
from automations.models import Automation
from tests.automations.api.conftest import token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db, django_user_model):
    return token_client(django_user_model.objects.create_superuser("alice", "alice@example.com", "pw"))


@pytest.fixture
def created(api, definition):
    return api.post("/api/automations/", definition, format="json").json()


def _with(definition, key, **changes):
    changed = copy.deepcopy(definition)
    for step in changed["steps"]:
        if step["key"] == key:
            step.update(changes)
    return changed


def _read(client, automation):
    response = client.get(f"/api/automations/{automation['id']}/")
    assert response.status_code == 200
    return response


def test_a_read_gives_the_draft_revision_as_etag_and_field_and_each_save_moves_it_on(api, created, definition):
    first = _read(api, created)
    revision = first.json()["revision"]
    assert isinstance(revision, int) and first["ETag"] == f'"{revision}"'
    assert created["revision"] == revision  # the create's answer names it too

    saved = api.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="2m"), format="json",
                    HTTP_IF_MATCH=first["ETag"])
    assert saved.status_code == 200
    assert saved.json()["revision"] > revision and saved["ETag"] == f'"{saved.json()["revision"]}"'
    assert _read(api, created)["ETag"] == saved["ETag"]


def test_a_save_on_a_stale_revision_is_refused_naming_who_when_and_what(api, alice, created, definition):
    # Tab A (alice) and tab B (ops) both read the draft.
    etag = _read(api, created)["ETag"]
    clock.advance(timedelta(minutes=5))
    saved_a = alice.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="2m"),
                        format="json", HTTP_IF_MATCH=etag)
    assert saved_a.status_code == 200

    # B saves what it has, on the revision it read: refused, A's wait kept.
    mine = _with(definition, "gentle", config={"template": "payment_failed_gentle", "to": "billing@example.com"})
    response = api.put(f"/api/automations/{created['id']}/", mine, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 412
    [error] = response.json()["errors"]
    assert error["field"] == "revision"
    assert error["author"] == "alice" and error["authors"] == ["alice"] and error["event"] == "saved"
    assert error["revision"] == saved_a.json()["revision"] and error["based_on"] == int(etag.strip('"'))
    assert error["at"].startswith("2026-11-20T10:05")  # when alice saved, on the test clock
    assert error["changes"]["lines"] == ['wait_3d: duration 3d -> 2m']
    assert "alice saved draft v1 at 2026-11-20 10:05" in error["message"]
    assert "wait_3d" in error["message"] and f"name revision {error['revision']}" in error["message"]
    # What writing over it would change: A's wait back, B's recipient.
    assert set(error["overwrite"]["lines"]) == {"wait_3d: duration 2m -> 3d",
                                                 "gentle: config.to {{ customer.email }} -> billing@example.com"}
    draft = _read(api, created).json()["draft_definition"]
    assert draft["steps"][1]["duration"] == "2m" and draft["steps"][0]["config"]["to"] == "{{ customer.email }}"

    # Overwrite: B names the revision the refusal gave.
    overwritten = api.put(f"/api/automations/{created['id']}/", mine, format="json",
                          HTTP_IF_MATCH=f'"{error["revision"]}"')
    assert overwritten.status_code == 200
    assert overwritten.json()["draft_definition"]["steps"][0]["config"]["to"] == "billing@example.com"


def test_a_patch_naming_a_stale_revision_in_its_body_is_refused(api, alice, created):
    revision = created["revision"]
    assert alice.patch(f"/api/automations/{created['id']}/", {"name": "Dunning (alice)"},
                       format="json").status_code == 200
    response = api.patch(f"/api/automations/{created['id']}/", {"name": "Dunning (ops)", "revision": revision},
                         format="json")
    assert response.status_code == 412
    assert response.json()["errors"][0]["changes"]["lines"] == ["name: Payment dunning -> Dunning (alice)"]
    assert Automation.objects.get().name == "Dunning (alice)"

    fresh = _read(api, created).json()["revision"]
    accepted = api.patch(f"/api/automations/{created['id']}/", {"name": "Dunning (ops)", "revision": fresh},
                         format="json")
    assert accepted.status_code == 200 and accepted.json()["name"] == "Dunning (ops)"
    assert "revision" not in accepted.json()["draft_definition"]


def test_a_save_that_names_no_revision_is_accepted_as_before(api, alice, created, definition):
    assert alice.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="2m"),
                     format="json").status_code == 200
    response = api.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="1d"),
                       format="json")
    assert response.status_code == 200 and response.json()["draft_definition"]["steps"][1]["duration"] == "1d"
    star = api.put(f"/api/automations/{created['id']}/", definition, format="json", HTTP_IF_MATCH="*")
    assert star.status_code == 200


@pytest.mark.parametrize(("headers", "body", "field"), [
    ({"HTTP_IF_MATCH": "42"}, {}, "If-Match"),
    ({"HTTP_IF_MATCH": '"abc"'}, {}, "If-Match"),
    ({"HTTP_IF_MATCH": ""}, {}, "If-Match"),
    ({}, {"revision": "42"}, "revision"),
    ({}, {"revision": True}, "revision"),
    ({}, {"revision": 0}, "revision"),
    ({"HTTP_IF_MATCH": '"1"'}, {"revision": 2}, "revision"),
])
def test_a_malformed_revision_is_a_400_naming_it(api, created, definition, headers, body, field):
    response = api.put(f"/api/automations/{created['id']}/", {**definition, **body}, format="json", **headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_activation_refuses_a_draft_revision_the_operator_has_not_seen(api, alice, created, definition):
    seen = created["revision"]
    clock.advance(timedelta(minutes=2))
    assert alice.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="2m"),
                     format="json").status_code == 200

    response = api.post(f"/api/automations/{created['id']}/activate/", {"revision": seen}, format="json")
    assert response.status_code == 412
    [error] = response.json()["errors"]
    assert error["author"] == "alice" and error["changes"]["lines"] == ["wait_3d: duration 3d -> 2m"]
    assert "overwrite" not in error
    assert Automation.objects.get().active_version is None
    assert api.post(f"/api/automations/{created['id']}/activate/", format="json",
                    HTTP_IF_MATCH=f'"{seen}"').status_code == 412

    current = _read(api, created)["ETag"]
    activated = api.post(f"/api/automations/{created['id']}/activate/", format="json", HTTP_IF_MATCH=current)
    assert activated.status_code == 200 and activated.json()["active_version"] == 1
    assert activated["ETag"] != current  # activating is a new revision: a tab still on the draft's is stale


def test_a_save_after_someone_else_activated_is_refused_naming_the_activation(api, alice, created, definition):
    seen = created["revision"]
    assert alice.post(f"/api/automations/{created['id']}/activate/", format="json").status_code == 200
    response = api.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="1d"),
                       format="json", HTTP_IF_MATCH=f'"{seen}"')
    assert response.status_code == 412
    [error] = response.json()["errors"]
    assert error["event"] == "activated" and error["version"] == 1 and "alice activated version 1" in error["message"]
    assert error["changes"]["summary"] == "no changes"


def test_a_restore_naming_a_stale_revision_is_refused(api, alice, created, definition):
    seen = created["revision"]
    assert alice.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="2m"),
                     format="json").status_code == 200
    revisions = api.get(f"/api/automations/{created['id']}/revisions/").json()["results"]
    response = api.post(f"/api/automations/{created['id']}/revisions/{revisions[-1]['id']}/restore/", format="json",
                        HTTP_IF_MATCH=f'"{seen}"')
    assert response.status_code == 412
    assert _read(api, created).json()["draft_definition"]["steps"][1]["duration"] == "2m"


def test_a_named_revision_that_is_not_the_automations_is_stale(api, created, definition):
    other = api.post("/api/automations/", definition, format="json").json()
    response = api.put(f"/api/automations/{created['id']}/", definition, format="json",
                       HTTP_IF_MATCH=f'"{other["revision"]}"')
    assert response.status_code == 412
    assert response.json()["errors"][0]["changes"] is None
    huge = api.put(f"/api/automations/{created['id']}/", definition, format="json",
                   HTTP_IF_MATCH='"9999999999999999999"')
    assert huge.status_code == 412


def test_the_refusal_masks_secrets_in_what_overwriting_would_change(api, alice, created, definition):
    webhook = {"key": "notify", "type": "action", "action": "send_webhook",
               "config": {"url": "https://hooks.example.com/x", "secret": "whsec_c2VjcmV0MQ=="}}
    revision = created["revision"]
    assert alice.put(f"/api/automations/{created['id']}/", _with(definition, "wait_3d", duration="2m"),
                     format="json").status_code == 200
    mine = {**definition, "steps": [*definition["steps"], webhook]}
    response = api.put(f"/api/automations/{created['id']}/", mine, format="json", HTTP_IF_MATCH=f'"{revision}"')
    assert response.status_code == 412
    assert response.json()["errors"][0]["overwrite"]["added"] == ["notify"]
    assert "whsec_c2VjcmV0MQ" not in response.content.decode()

