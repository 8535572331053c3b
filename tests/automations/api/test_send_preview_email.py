""""Send me a test email": the email as the preview renders it, through the real mail server (a
loopback SMTP server here), to the user's own address only, marked as a test; a problem is said
beside its field and sends nothing."""
from __future__ import annotations

import pytest

from tests.automations.api.conftest import token_client
from tests.conftest import sample
from tests.fixtures.smtp import smtp  # noqa: F401  (the fixture)

TEMPLATES = {"subject": "Invoice {{ invoice.number }} is unpaid",
             "body": "Hi {{ customer.name }},\\n\\nPlease pay {{ invoice.amount_due | money(invoice.currency) }}.",
             "html": "<p>Hi {{ customer.name }}</p>"}


def test_the_rendered_email_reaches_the_operator_marked_as_a_test(api, smtp):
    answer = api.post("/api/send-preview-email/", {"templates": TEMPLATES, "data": sample("payment.failed")},
                      format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["to"] == "ops@example.com"
    [(recipients, message)] = smtp.messages
    assert recipients == ["ops@example.com"], "the operator only: never the customer in the data"
    assert message["Subject"] == "[Test] Invoice INV-2026-0042 is unpaid"
    assert message["X-Billing-Automations-Test"] == "yes"
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("This is a test email from Billing Automations") and "Please pay $1,250.00." in text
    assert "<p>Hi Acme Corp</p>" in message.get_body(("html",)).get_content()


def test_a_template_that_does_not_render_is_said_beside_its_field_and_nothing_is_sent(api, smtp):
    answer = api.post("/api/send-preview-email/", {"templates": {**TEMPLATES, "subject": "{{ invoice.number "},
                                                    "data": sample("payment.failed")}, format="json")
    assert answer.status_code == 400 and [error["field"] for error in answer.json()["errors"]] == ["subject"]
    assert smtp.messages == []


def test_a_user_without_an_address_is_told_where_to_add_one(db, django_user_model, smtp):
    user = django_user_model.objects.create_superuser("noaddress", "", "pw")
    answer = token_client(user).post("/api/send-preview-email/", {"templates": TEMPLATES}, format="json")
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["field"] == "to" and "your user has no email address" in error["message"]
    assert smtp.messages == []


def test_a_mail_server_that_refuses_it_is_a_503_saying_what_it_answered(api, smtp):
    smtp.replies = ["554 5.7.1 Relay refused"]
    answer = api.post("/api/send-preview-email/", {"templates": TEMPLATES, "data": sample("payment.failed")},
                      format="json")
    assert answer.status_code == 503
    [error] = answer.json()["errors"]
    assert error["field"] == "to" and "the mail server did not take it" in error["message"] and "Relay refused" in error["message"]


@pytest.mark.parametrize("client_name", ["stranger", "anonymous"])
def test_only_users_who_may_see_automations_may_send_one(request, client_name, smtp):
    answer = request.getfixturevalue(client_name).post("/api/send-preview-email/", {"templates": TEMPLATES},
                                                       format="json")
    assert answer.status_code in (401, 403) and smtp.messages == []
