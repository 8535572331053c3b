"""A step the builder adds is not a problem the moment it is added: what each kind of new step
starts with (the step-type catalogue's blanks as the builder's state/step_types.js reads them, and
its action configs, run here through Node) is checked by the server's own validation, in the
library's dunning. Only what no default can know is left to the operator. And the catalogues the
builder's Node tests use (step types, trigger kinds) are the ones the server serves."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from automations import library
from automations.actions import registry
from automations.api.views import StepTypesView, TriggerKindsView
from automations.definition import validate_definition
from automations.definition.references import check_references
from automations.trigger_kinds import trigger_kinds
from billing_events.errors import InvalidInput
from tests.noop_step.trigger_kinds import TicketTrigger

pytestmark = pytest.mark.django_db

MODULE = (Path(__file__).resolve().parents[3] / "automations" / "static" / "automations" / "builder" / "state"
          / "step_types.js")
FIXTURES = Path(__file__).resolve().parent / "builder" / "fixtures.js"
# A step added at the end of the dunning's main flow: the run is about an invoice of a customer.
ROOTS = ["customer", "invoice", "payment", "event", "automation", "execution", "trigger", "steps"]

#: What only the operator can say: a branch's and a loop's steps, a webhook's URL, a tag, the
#: customer fields to change, and a Slack webhook or a CRM this installation does not have.
LEFT_TO_THE_OPERATOR = {
    "branch": ["steps.new.then"],
    "loop": ["steps.new.steps"],
    "send_slack": ["steps.new.config.webhook_url"],
    "send_webhook": ["steps.new.config.url"],
    "add_tag": ["steps.new.config.tag"],
    "update_customer": ["steps.new.config"],
    "sync_to_crm": ["steps.new.config"],
}


def node_script(script: str) -> object:
    """What a module script run by Node prints, read as JSON."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail("REQUIRE_NODE is set but node is not installed")
        pytest.skip("Node.js is not installed")
    result = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def served() -> list[dict]:
    """The step-type catalogue as ``GET step-types/`` serves it."""
    return StepTypesView().get_queryset()


def starting_fields(kinds: list[tuple[str, str | None]]) -> list[dict]:
    return node_script(
        f"import {{ startingFields, useStepTypes }} from {json.dumps(MODULE.as_uri())};\n"
        f"useStepTypes({json.dumps(served())});\n"
        f"const roots = new Set({json.dumps(ROOTS)});\n"
        f"console.log(JSON.stringify({json.dumps(kinds)}.map(([type, action]) => "
        "startingFields(type, action ?? undefined, { roots }))));")


def problems_of(step: dict) -> list[str]:
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    definition["steps"].append(step)
    try:
        validate_definition(definition)
        errors = []
    except InvalidInput as exc:
        errors = exc.errors
    references, _ = check_references(definition)
    return sorted({error["field"] for error in [*errors, *references]})


def test_every_new_step_starts_valid_but_for_what_only_the_operator_knows():
    library.install_email_templates("payment_dunning")
    kinds = [(kind, None) for kind in ("delay", "wait_for", "approval", "branch", "loop", "stop")]
    kinds += [("action", action.key) for action in registry.all()]
    found = {}
    for (kind, action), fields in zip(kinds, starting_fields(kinds)):
        step = {"key": "new", "type": kind, **({"action": action} if action else {}), **fields}
        found[action or kind] = problems_of(step)
    assert {name: fields for name, fields in found.items() if fields} == LEFT_TO_THE_OPERATOR


def without_schemas(entries: list[dict]) -> list[dict]:
    return [{name: value for name, value in entry.items() if name != "schema"} for entry in entries]


def test_the_node_tests_read_the_catalogue_the_server_serves():
    from automations.steps import step_types
    from tests.noop_step.models import NoopStep

    fixtures = node_script(f"import {{ NOOP, STEP_TYPES }} from {json.dumps(FIXTURES.as_uri())};\n"
                           "console.log(JSON.stringify({ NOOP, STEP_TYPES }));")
    assert fixtures["STEP_TYPES"] == without_schemas(served()), (
        "tests/automations/static/builder/step_types.json is not what GET step-types/ serves (without the schemas)")
    with step_types.register_temporarily(NoopStep):
        noop = next(entry for entry in served() if entry["type"] == "noop")
    assert without_schemas([fixtures["NOOP"]]) == without_schemas([noop])
    assert fixtures["NOOP"]["schema"]["properties"] == noop["schema"]["properties"]


def test_the_node_tests_read_the_trigger_kinds_the_server_serves():
    fixtures = node_script(f"import {{ TICKET, TRIGGER_KINDS }} from {json.dumps(FIXTURES.as_uri())};\n"
                           "console.log(JSON.stringify({ TICKET, TRIGGER_KINDS }));")
    assert fixtures["TRIGGER_KINDS"] == without_schemas(TriggerKindsView().get_queryset()), (
        "tests/automations/static/builder/trigger_kinds.json is not what GET trigger-kinds/ serves (without the schemas)")
    with trigger_kinds.register_temporarily(TicketTrigger):
        ticket = next(entry for entry in TriggerKindsView().get_queryset() if entry["type"] == "ticket")
    assert without_schemas([fixtures["TICKET"]]) == without_schemas([ticket])
    assert fixtures["TICKET"]["schema"]["properties"] == ticket["schema"]["properties"]
