"""Host projects add action types by setting or decorator, without touching the app."""
from __future__ import annotations

import pytest

from automations import services
from automations.actions import Action, register_action, registry
from automations.actions.configured import register_configured_actions
from automations.models import Execution


class Echo(Action):
    key = "echo"
    config_schema = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}},
                     "additionalProperties": False}

    def run(self, config, context):
        return {"echoed": config["text"], "key": context.idempotency_key}


@pytest.fixture
def unregister():
    yield
    registry.unregister("echo")
    registry.unregister("shout")


def test_an_action_named_in_the_setting_is_registered_and_runs(settings, unregister, db, engine):
    settings.AUTOMATIONS = {"ACTIONS": ["tests.automations.actions.test_registry.Echo"]}
    register_configured_actions()
    assert "echo" in registry.keys() and "send_email" in registry.keys()
    automation = services.create_automation({"name": "Echo", "trigger": {"type": "manual"}, "steps": [
        {"key": "say", "type": "action", "action": "echo", "config": {"text": "Hi {{ customer.name }}"}}]})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, {"customer": {"id": "c", "name": "Ann"}})
    execution.refresh_from_db()
    assert execution.outputs["say"] == {"echoed": "Hi Ann", "key": f"{execution.pk}:say:0"}


def test_a_host_actions_config_schema_is_enforced_on_save(unregister, db):
    registry.register(Echo)
    with pytest.raises(Exception, match="steps.say.config.text: is required"):
        services.create_automation({"name": "Echo", "trigger": {"type": "manual"}, "steps": [
            {"key": "say", "type": "action", "action": "echo", "config": {}}]})
    assert not Execution.objects.exists()


def test_the_decorator_registers(unregister):
    @register_action
    class Shout(Action):
        key = "shout"

    assert isinstance(registry.get("shout"), Shout)


@pytest.mark.parametrize(("path", "error", "message"), [
    ("tests.nowhere.Action", ImportError, "cannot be imported"),
    ("decimal.Decimal", TypeError, "not an Action subclass"),
])
def test_a_bad_setting_names_itself(settings, path, error, message):
    settings.AUTOMATIONS = {"ACTIONS": [path]}
    with pytest.raises(error, match=message):
        register_configured_actions()


def test_an_action_needs_a_key():
    with pytest.raises(ValueError, match="has no key"):
        registry.register(type("Nameless", (Action,), {}))
