"""No poison templates: what can be seen without data is refused on save (never a 500), the rest is
a failed step with a clear error at run time, never a hung worker."""
from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from automations import services
from automations.models import EmailTemplate, Execution
from automations.templating import RenderError, render, template_problem
from billing_events.errors import InvalidInput
from tests.automations.api.conftest import token_client

POISON = {
    "power": ("{{ (7 ** (7 ** 8)) % 10 }}", "7 ** 5764801 is too large a number"),
    "text times": ("{{ 'x' * 10 ** 10 }}", "would be 10,000,000,000 long"),
    "list times": ("{{ [0] * 10 ** 9 }}", "would be 1,000,000,000 long"),
    "nested loops": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                     "its loops would run 10,000,000,000 times"),
    "padding filter": ("{{ 'x' | center(10 ** 10) }}", "would be 10,000,000,000 long"),
    "padding method": ("{{ 'x'.ljust(10 ** 10) }}", "would be 10,000,000,000 long"),
    "format width": ("{{ '%999999999d' % 1 }}", "a formatted field"),
    "huge literal": ("{{ " + "9" * 5000 + " }}", "cannot be compiled"),
    "deep nesting": ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
}


def definition(subject: str) -> dict:
    return {"name": "Poison", "trigger": {"type": "manual"},
            "steps": [{"key": "mail", "type": "action", "action": "send_email",
                       "config": {"to": "a@example.com", "subject": subject, "body": "b"}}]}


@pytest.mark.parametrize("name", POISON)
def test_a_poison_template_is_refused_on_save_naming_the_field(db, name):
    source, message = POISON[name]
    started = time.monotonic()
    with pytest.raises(InvalidInput) as error:
        services.create_automation(definition(source))
    assert time.monotonic() - started < 2
    [problem] = error.value.errors
    assert problem["field"] == "steps.mail.config.subject" and message in problem["message"]


def test_a_poison_definition_posted_to_the_api_is_a_400(db, django_user_model):
    api = token_client(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    for source, _ in POISON.values():
        response = api.post("/api/automations/", definition(source), format="json")
        assert response.status_code == 400, (source[:40], response.status_code)


def test_a_poison_email_template_is_refused_by_its_form_validation(db):
    template = EmailTemplate(key="poison", subject="Hi", body_text=POISON["power"][0])
    with pytest.raises(ValidationError, match="too large a number"):
        template.full_clean()


RUN_TIME = {
    "power": ("{{ event.data.n ** event.data.n }}", "100000 ** 100000 is too large a number"),
    "text times": ("{{ 'x' * event.data.n * event.data.n }}", "would be 10,000,000,000 long"),
    "nested loops": ("{% for i in range(event.data.n) %}{% for j in range(event.data.n) %}{% endfor %}{% endfor %}",
                     "rendering took longer than 0.5s"),
    "output": ("{% for i in range(event.data.n) %}{{ 'more text ' }}{% endfor %}",
               "the rendered text is longer than 500,000 characters"),
}


@pytest.mark.parametrize("name", RUN_TIME)
def test_a_template_that_explodes_on_the_data_fails_its_step_quickly(db, engine, settings, name):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "RENDER_SECONDS": 0.5}
    source, message = RUN_TIME[name]
    # runs started without an n are not let in: the template reads it unguarded
    automation = services.create_automation({**definition(source),
                                             "conditions": {"all": [{"field": "event.data.n", "operator": "is_set"}]}})
    services.activate(automation)
    started = time.monotonic()
    engine.run(services.run_manual, automation, {"n": 100000})
    assert time.monotonic() - started < 5, "the worker is free again"
    execution = Execution.objects.get()
    assert execution.status == "failed"
    run = execution.step_runs.get()
    assert run.status == "failed" and message in run.error, run.error


def test_ordinary_templates_are_untouched():
    assert template_problem("{{ 2 ** 10 }} {{ 'ab' * 3 }} {% for i in range(300) %}{% endfor %}") is None
    assert render("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ '%05.1f' % 3.14159 }} {{ '{:>6}'.format('x') }}", {}) == (
        "1024 ababab 003.1      x")


def test_the_render_budget_applies_in_any_thread():
    import threading

    errors: list[Exception] = []

    def render_slowly() -> None:
        try:
            render("{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}", {"n": 100000})
        except RenderError as exc:
            errors.append(exc)

    thread = threading.Thread(target=render_slowly)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and "rendering took longer than" in str(errors[0])
