"""What counts as secret in a step's config, and the masked form every place shows."""
from __future__ import annotations

import pytest

from automations.masking import MASK, mask_config
from automations.secrets import mask_definition, unmask_definition
from billing_events.errors import InvalidInput
from automations.definition.serialize import definition_of


def test_urls_keep_their_host_and_path_but_not_credentials_nor_query_values():
    shown = mask_config({"url": "https://bot:hunter2@crm.example/api/v1?access_token=tok_1&page=2&sig=abc#key=k9"})
    assert shown["url"] == f"https://{MASK}@crm.example/api/v1?access_token={MASK}&page=2&sig={MASK}#key={MASK}"


def test_every_header_but_a_short_safe_list_is_masked():
    shown = mask_config({"headers": {"Content-Type": "application/json", "Accept": "*/*", "User-Agent": "x",
                                     "X-Auth": "a1", "X-Api-Key": "k2", "Authorization": "Bearer b3",
                                     "X-Tenant": "t4"}})["headers"]
    assert shown == {"Content-Type": "application/json", "Accept": "*/*", "User-Agent": "x", "X-Auth": MASK,
                     "X-Api-Key": MASK, "Authorization": MASK, "X-Tenant": MASK}


def test_secret_fields_are_masked_and_references_shown_as_they_are():
    shown = mask_config({"secret": "whsec_abc", "webhook_url": "{{ secrets.SLACK }}",
                         "headers": {"X-Api-Key": "{{ secrets.KEY }}"}, "url": "https://a.example/?t={{ secrets.T }}"},
                        ("secret", "webhook_url"))
    assert shown == {"secret": MASK, "webhook_url": "{{ secrets.SLACK }}", "headers": {"X-Api-Key": "{{ secrets.KEY }}"},
                     "url": "https://a.example/?t={{ secrets.T }}"}


def _definition(url: str, key_value: str) -> dict:
    return {"name": "Hook", "trigger": {"type": "manual"}, "steps": [
        {"key": "check", "type": "branch", "if": {"all": [{"field": "customer.id", "operator": "is_set"}]},
         "then": [{"key": "hook", "type": "action", "action": "send_webhook",
                   "config": {"url": url, "headers": {"X-Api-Key": key_value}}}]}]}


def test_a_masked_definition_written_back_to_the_same_host_gets_its_secrets_back():
    stored = _definition("https://partner.example/hook?token=t0k", "k3y")
    shown = mask_definition(stored)
    assert shown["steps"][0]["then"][0]["config"] == {"url": f"https://partner.example/hook?token={MASK}",
                                                      "headers": {"X-Api-Key": MASK}}
    assert unmask_definition(shown, stored) == stored


def test_a_masked_secret_is_not_kept_when_the_step_sends_elsewhere():
    stored = _definition("https://partner.example/hook", "k3y")
    replay = _definition("https://attacker.example/steal", MASK)
    with pytest.raises(InvalidInput) as refused:
        unmask_definition(replay, stored)
    assert refused.value.errors == [{"field": "steps.hook.config.headers.X-Api-Key", "message":
                                     "the step now sends to https://attacker.example:443 instead of "
                                     "https://partner.example:443: "
                                     "give this secret again"}]


@pytest.mark.parametrize("elsewhere", ["https://partner.example:8443/hook", "http://partner.example/hook"])
def test_another_port_or_scheme_of_the_same_host_is_another_destination(elsewhere):
    """The boundary is the origin (scheme, host, port): another port of the same host may be
    another service, run by someone else."""
    stored = _definition("https://partner.example/hook", "k3y")
    with pytest.raises(InvalidInput) as refused:
        unmask_definition(_definition(elsewhere, MASK), stored)
    assert refused.value.errors[0]["field"] == "steps.hook.config.headers.X-Api-Key"


def test_the_default_port_written_out_is_the_same_destination():
    stored = _definition("https://partner.example/hook", "k3y")
    replay = unmask_definition(_definition("https://PARTNER.example:443/hook", MASK), stored)
    assert replay["steps"][0]["then"][0]["config"]["headers"] == {"X-Api-Key": "k3y"}


@pytest.mark.parametrize("stored", [None, _definition("https://partner.example/hook?token=t0k", "k3y")])
def test_a_mask_that_matches_no_stored_value_is_refused(stored):
    with pytest.raises(InvalidInput) as refused:
        unmask_definition(_definition(f"https://partner.example/other?token={MASK}", "k3y"), stored)
    assert refused.value.errors[0]["field"] == "steps.hook.config.url"


@pytest.mark.django_db
def test_the_migration_masks_history_rows_written_before_masking():
    import importlib

    from django.apps import apps

    from automations import services
    from automations.steps.action import ActionStep

    migration = importlib.import_module("automations.migrations.0003_mask_secrets_in_history")
    automation = services.create_automation(_definition("https://partner.example/hook?token=t0k", "k3y"))
    history = ActionStep.history.model.objects.filter(key="hook")
    history.update(config={"url": "https://partner.example/hook?token=t0k", "headers": {"X-Api-Key": "k3y"}})
    migration.mask_existing_history(apps, None)
    assert [row.config for row in history] == [{"url": f"https://partner.example/hook?token={MASK}",
                                               "headers": {"X-Api-Key": MASK}}]
    assert definition_of(automation.draft_version)["steps"][0]["then"][0]["config"]["headers"] == {"X-Api-Key": "k3y"}
