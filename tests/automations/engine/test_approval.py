"""approval: a run waits for a person's decision (API, permission), or takes a default at its timeout."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission

from automations import clock, services
from automations.models import ApprovalRequest, Execution, Task
from billing_events.models import Invoice
from tests.automations.actions.test_send_email import smtp  # noqa: F401  (a real SMTP server on loopback)
from tests.conftest import START, sample

ASK = {"key": "ask_finance", "type": "approval", "ask": "Write off {{ invoice.number }}?",
       "approvers": {"permission": "automations.decide_approval"}, "timeout": "5d", "on_timeout": "rejected"}
STEPS = [
    ASK,
    {"key": "approved", "type": "branch",
     "if": {"all": [{"field": "steps.ask_finance.output.decision", "operator": "equals", "value": "approved"}]},
     "then": [{"key": "void", "type": "action", "action": "void_invoice", "config": {"reason": "written off"}}],
     "else": [{"key": "keep", "type": "action", "action": "create_task",
               "config": {"title": "Keep collecting {{ invoice.number }}"}}]},
]


def make(steps=STEPS):
    automation = services.create_automation({"name": "Write-off", "trigger": {"type": "manual"},
                                             "correlation_key": "invoice.id", "steps": steps})
    services.activate(automation)
    return automation


def start(engine, automation) -> Execution:
    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_issued")  # the billing data knows the invoice
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    execution.refresh_from_db()
    return execution


@pytest.fixture
def finance(django_user_model):
    user = django_user_model.objects.create_user("fin", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    return user


@pytest.fixture
def bystander(django_user_model):
    user = django_user_model.objects.create_user("bob", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_approvalrequest"))
    return user


def api(client, user):
    client.force_login(user)
    return client


def test_approved_through_the_api_the_run_voids_the_invoice(db, engine, client, finance):
    execution = start(engine, make())
    assert execution.status == "waiting" and execution.wake_at == START + timedelta(days=5)
    request = ApprovalRequest.objects.get()
    assert request.ask == "Write off INV-2026-0042?" and request.status == "pending"
    assert request.details["invoice"]["number"] == "INV-2026-0042"
    assert request.details["customer"]["email"] == "billing@acme.example"

    listed = api(client, finance).get("/api/approvals/?status=pending").json()
    assert [item["id"] for item in listed["results"]] == [request.pk]

    clock.advance(timedelta(hours=3))
    answer = engine.run(client.post, f"/api/approvals/{request.pk}/approve/", {"comment": "uncollectable"},
                        content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "approved" and answer.json()["decided_by"] == "fin"
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    assert execution.outputs["ask_finance"] == {"decision": "approved", "by": "fin", "comment": "uncollectable"}
    assert Invoice.objects.get(id="inv_2001").status == "void"
    assert execution.step_runs.get(step_key="ask_finance").finished_at == START + timedelta(hours=3)

    again = engine.run(client.post, f"/api/approvals/{request.pk}/reject/", {}, content_type="application/json")
    assert again.status_code == 409


def test_rejected_the_run_keeps_collecting(db, engine, client, finance):
    execution = start(engine, make())
    request = ApprovalRequest.objects.get()
    answer = engine.run(api(client, finance).post, f"/api/approvals/{request.pk}/reject/",
                        {"comment": "they will pay"}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    execution.refresh_from_db()
    assert execution.outputs["ask_finance"] == {"decision": "rejected", "by": "fin", "comment": "they will pay"}
    assert list(Task.objects.values_list("title", flat=True)) == ["Keep collecting INV-2026-0042"]


def test_nobody_decides_the_timeout_takes_the_default_decision(db, engine):
    execution = start(engine, make())
    engine.advance(days=4, hours=23)
    execution.refresh_from_db()
    assert execution.status == "waiting"
    engine.advance(hours=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.outputs["ask_finance"] == {"decision": "rejected", "by": None, "comment": "",
                                                "timed_out": True}
    assert ApprovalRequest.objects.get().status == "timed_out"
    assert Task.objects.count() == 1


def test_without_the_permission_deciding_is_a_403(db, engine, client, bystander, django_user_model):
    execution = start(engine, make())
    request = ApprovalRequest.objects.get()
    assert api(client, bystander).get("/api/approvals/").status_code == 200  # may look
    for verb in ("approve", "reject"):
        answer = client.post(f"/api/approvals/{request.pk}/{verb}/", {}, content_type="application/json")
        assert answer.status_code == 403, answer.content
        assert answer.json()["errors"][0]["field"] == ""
    nobody = django_user_model.objects.create_user("nobody", password="pw")
    assert api(client, nobody).get("/api/approvals/").status_code == 403
    client.logout()
    assert client.get("/api/approvals/").status_code in (401, 403)
    execution.refresh_from_db()
    assert execution.status == "waiting" and ApprovalRequest.objects.get().status == "pending"


def test_the_steps_own_approvers_group_is_required(db, engine, client, finance):
    from django.contrib.auth.models import Group

    make([{**ASK, "approvers": {"permission": "automations.decide_approval", "groups": ["finance"]}}])
    start(engine, make([{**ASK, "key": "ask_group",
                         "approvers": {"permission": "automations.decide_approval", "groups": ["finance"]}}]))
    request = ApprovalRequest.objects.get()
    answer = api(client, finance).post(f"/api/approvals/{request.pk}/approve/", {}, content_type="application/json")
    assert answer.status_code == 403
    finance.groups.add(Group.objects.create(name="finance"))
    answer = engine.run(client.post, f"/api/approvals/{request.pk}/approve/", {}, content_type="application/json")
    assert answer.status_code == 200


def test_a_canceled_run_cannot_be_decided(db, engine, client, finance):
    execution = start(engine, make())
    services.cancel_execution(execution, "operator")
    request = ApprovalRequest.objects.get()
    answer = api(client, finance).post(f"/api/approvals/{request.pk}/approve/", {}, content_type="application/json")
    assert answer.status_code == 409
    request.refresh_from_db()
    assert request.status == "canceled"
    assert client.get("/api/approvals/?status=pending").json()["results"] == []


def test_the_approvers_are_notified_by_email_and_on_slack(db, engine, smtp, http_server, settings):  # noqa: F811
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SLACK_WEBHOOK_URL": f"{http_server.url}/services/T0/B0/X"}
    notify = [{"channel": "email", "to": "finance@billing.example, cfo@billing.example",
               "subject": "Write-off of {{ invoice.number }} for {{ customer.name }}"},
              {"channel": "slack"}]
    start(engine, make([{**ASK, "notify": notify}, *STEPS[1:]]))
    request = ApprovalRequest.objects.get()
    [(recipients, message)] = smtp.messages
    assert sorted(recipients) == ["cfo@billing.example", "finance@billing.example"]
    assert message["Subject"] == "Write-off of INV-2026-0042 for Acme Corp"
    body = message.get_content()
    assert "Write off INV-2026-0042?" in body and "Customer: Acme Corp <billing@acme.example>" in body
    assert f"POST approvals/{request.pk}/approve/" in body
    [posted] = http_server.requests
    assert posted.path == "/services/T0/B0/X"
    assert posted.json()["text"].startswith("Approval needed: Write off INV-2026-0042? · Customer: Acme Corp")


def test_test_mode_takes_the_given_decision(db):
    automation = make()
    data = sample("invoice.issued")
    approved = services.test_run(automation, data)
    assert approved["timeline"][0]["output"] == {"decision": "approved", "by": "test", "comment": ""}
    assert approved["timeline"][2]["action"] == "void_invoice"
    rejected = services.test_run(automation, data, decision="rejected")
    assert rejected["timeline"][1]["branch"] == "else"
    timed_out = services.test_run(automation, data, decisions={"ask_finance": "timed_out"})
    assert timed_out["timeline"][0]["output"]["timed_out"] is True
    assert timed_out["timeline"][1]["day"] == 5 and timed_out["timeline"][1]["branch"] == "else"


@pytest.mark.parametrize("step, field", [
    ({"key": "a", "type": "approval"}, "steps.a.ask"),
    ({"key": "a", "type": "approval", "ask": "ok?", "on_timeout": "approved"}, "steps.a.on_timeout"),
    ({"key": "a", "type": "approval", "ask": "ok?", "timeout": "5d", "on_timeout": "maybe"}, "steps.a.on_timeout"),
    ({"key": "a", "type": "approval", "ask": "ok?", "notify": [{"channel": "fax"}]}, "steps.a.notify[0].channel"),
    ({"key": "a", "type": "approval", "ask": "ok?", "notify": [{"channel": ["slack"]}]}, "steps.a.notify[0].channel"),
    ({"key": "a", "type": "approval", "ask": "ok?", "notify": [{"channel": "email"}]}, "steps.a.notify[0].to"),
    ({"key": "a", "type": "approval", "ask": "{{ invoce.number }}?"}, "steps.a.ask"),
    ({"key": "a", "type": "approval", "ask": "ok?", "approvers": {"permission": "nope"}},
     "steps.a.approvers.permission"),
])
def test_a_bad_approval_is_refused_naming_the_field(db, step, field):
    from billing_events.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        services.create_automation({"name": "x", "trigger": {"type": "manual"}, "steps": [step]})
    assert field in [error["field"] for error in caught.value.errors]


def test_decided_on_its_admin_page(db, engine, client, finance, bystander):
    execution = start(engine, make())
    request = ApprovalRequest.objects.get()
    finance.is_staff = True
    finance.save()
    client.force_login(finance)
    listing = client.get("/admin/automations/approvalrequest/")
    assert listing.status_code == 200 and b"Write off INV-2026-0042?" in listing.content
    page = client.get(f"/admin/automations/approvalrequest/{request.pk}/change/")
    assert page.status_code == 200 and b'name="decision"' in page.content
    url = f"/admin/automations/approvalrequest/{request.pk}/change/"
    effects = "Voids INV-2026-0042 (1,250.00 USD due)"
    answer = engine.run(client.post, url, {"decision": "approved", "comment": "ok by finance", "shown_effects": effects})
    assert answer.status_code == 200 and ApprovalRequest.objects.get().status == "pending", "one click moves no money"
    answer = engine.run(client.post, url, {"decision": "approved", "comment": "ok by finance", "shown_effects": effects,
                                           "confirm_money": "on"})
    assert answer.status_code == 302
    execution.refresh_from_db()
    assert execution.outputs["ask_finance"] == {"decision": "approved", "by": "fin", "comment": "ok by finance"}

    bystander.is_staff = True
    bystander.save()
    client.force_login(bystander)
    page = client.get(f"/admin/automations/approvalrequest/{request.pk}/change/")
    assert page.status_code == 200 and b'name="decision"' not in page.content


def test_the_write_off_template_in_test_mode(db):
    from automations import library

    automation = library.instantiate("write_off")
    approved = services.test_run(automation)
    assert [entry["step"] for entry in approved["timeline"]] == ["ask_finance", "approved", "void", "tell_customer"]
    assert approved["timeline"][0]["decision"] == "approved"
    assert approved["timeline"][3]["would"]["subject"] == "Invoice INV-2026-0042 has been closed"
    rejected = services.test_run(automation, decisions={"ask_finance": "timed_out"})
    assert [(entry["step"], entry["day"]) for entry in rejected["timeline"]] == [
        ("ask_finance", 7), ("approved", 7), ("keep_collecting", 7)]  # logged when the decision is taken


def test_the_write_off_template_for_real(db, engine, client, finance, smtp):  # noqa: F811
    from automations import library

    automation = library.instantiate("write_off")
    services.activate(automation)
    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_issued")
    engine.emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    execution = Execution.objects.get(automation=automation)
    assert execution.status == "waiting"
    request = ApprovalRequest.objects.get()
    [(recipients, message)] = smtp.messages
    assert recipients == ["finance@example.com"] and message["Subject"] == "Approval needed: write off INV-2026-0042"

    clock.advance(timedelta(days=1))
    answer = engine.run(api(client, finance).post, f"/api/approvals/{request.pk}/approve/",
                        {"comment": "customer went bust"}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    assert Invoice.objects.get(id="inv_2001").status == "void"
    assert smtp.messages[-1][1]["Subject"] == "Invoice INV-2026-0042 has been closed"
