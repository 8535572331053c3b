"""Who uses what, in the admin: an email template's and a secret's page say which automations
(linked) and versions use it, deleting a template in use is refused naming them, and the hosts
that steps call are listed with their automations."""
from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from automations import library, services
from automations.models import EmailTemplate, Secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_client):
    return admin_client


@pytest.fixture
def secret(db):
    secret = Secret(name="PARTNER")
    secret.set_value("v")
    secret.save()
    return secret


@pytest.fixture
def hooked(dunning, secret):
    """The active dunning, and its draft v2 that also calls a partner's webhook."""
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    definition["steps"].insert(1, {"key": "hook", "type": "action", "action": "send_webhook",
                                   "config": {"url": "https://hooks.example.com/in",
                                              "headers": {"X-Api-Key": "{{ secrets.PARTNER }}"}}})
    services.update_draft(dunning, definition)
    return dunning


def test_an_email_templates_page_says_which_automations_send_it(admin, dunning):
    template = EmailTemplate.objects.get(key="payment_failed_gentle")
    body = admin.get(reverse("admin:automations_emailtemplate_change", args=[template.pk])).content.decode()
    link = reverse("admin:automations_automation_change", args=[dunning.pk])
    assert "Used by" in body
    assert f"<a href='{link}'>Payment dunning</a> v1 (active): step gentle" in body


def test_an_unused_templates_page_says_so(admin, db):
    template = EmailTemplate.objects.create(key="unused", subject="Hi", body_text="Hello")
    body = admin.get(reverse("admin:automations_emailtemplate_change", args=[template.pk])).content.decode()
    assert "No draft or active version uses it." in body


def test_deleting_a_template_in_use_is_refused_naming_the_automations(admin, dunning):
    template = EmailTemplate.objects.get(key="payment_failed_urgent")
    url = reverse("admin:automations_emailtemplate_delete", args=[template.pk])
    body = admin.get(url).content.decode()
    assert "cannot be deleted while automations use it" in body
    link = reverse("admin:automations_automation_change", args=[dunning.pk])
    assert f"<a href='{link}'>Payment dunning</a> v1 (active)" in body
    assert "Yes, I’m sure" not in body
    admin.post(url, {"post": "yes"})
    assert EmailTemplate.objects.filter(pk=template.pk).exists()
    selected = admin.post(reverse("admin:automations_emailtemplate_changelist"),
                          {"action": "delete_selected", "_selected_action": [template.pk], "post": "yes"})
    assert "Payment dunning" in selected.content.decode()
    assert EmailTemplate.objects.filter(pk=template.pk).exists()


def test_an_unused_template_is_deleted_as_usual(admin, db):
    template = EmailTemplate.objects.create(key="unused", subject="Hi", body_text="Hello")
    url = reverse("admin:automations_emailtemplate_delete", args=[template.pk])
    assert "Yes, I’m sure" in admin.get(url).content.decode()
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not EmailTemplate.objects.exists()


def test_a_secrets_page_says_which_versions_reference_it(admin, hooked, secret):
    body = admin.get(reverse("admin:automations_secret_change", args=[secret.pk])).content.decode()
    link = reverse("admin:automations_automation_change", args=[hooked.pk])
    assert f"<a href='{link}'>Payment dunning</a> v2 (draft): step hook" in body
    assert "v1 (active)" not in body
    assert "cannot be deleted while automations use it" in admin.get(
        reverse("admin:automations_secret_delete", args=[secret.pk])).content.decode()


def test_the_hosts_called_are_listed_with_their_automations(admin, hooked):
    body = admin.get(reverse("admin:automations_automation_hosts")).content.decode()
    link = reverse("admin:automations_automation_change", args=[hooked.pk])
    assert "id=\"host-hooks.example.com\"" in body
    assert f"<a href='{link}'>Payment dunning</a> v2 (draft): step hook — https://hooks.example.com:443" in body
    listing = admin.get(reverse("admin:automations_automation_changelist") + "?calls=hooks.example.com")
    assert listing.status_code == 200 and "Payment dunning" in listing.content.decode()
    other = admin.get(reverse("admin:automations_automation_changelist") + "?calls=other.example")
    assert "Payment dunning" not in other.content.decode().split("result_list")[-1]


def test_an_automations_page_lists_what_it_uses(admin, hooked, secret):
    body = admin.get(reverse("admin:automations_automation_change", args=[hooked.pk])).content.decode()
    template = EmailTemplate.objects.get(key="payment_failed_gentle")
    assert (f"<a href='{reverse('admin:automations_emailtemplate_change', args=[template.pk])}'>"
            "payment_failed_gentle</a></td><td>v1 (active), v2 (draft)") in body
    assert f"<a href='{reverse('admin:automations_secret_change', args=[secret.pk])}'>PARTNER</a></td><td>v2 (draft)" \
        in body
    assert "#host-hooks.example.com'>hooks.example.com</a></td><td>v2 (draft)" in body
