"""The step rows index what each version refers to: the email templates it sends, the secrets it
references, the origins it calls; the index follows every save and activation, and finding the
users of a template, a secret or a host is a query on it, not a scan of the definitions."""
from __future__ import annotations

import copy

import pytest
from django.apps import apps

from automations import library, services
from automations.definition import index
from automations.models import ReferenceKind, Secret, StepReference
from automations.template_use import problems_where_used
from tests.fixtures.statements import counting

pytestmark = pytest.mark.django_db

TEMPLATE, SECRET, ORIGIN = ReferenceKind.EMAIL_TEMPLATE, ReferenceKind.SECRET, ReferenceKind.ORIGIN


@pytest.fixture
def secret(db):
    secret = Secret(name="HOOK_TOKEN")
    secret.set_value("tok_1")
    secret.save()
    return secret


def hooked(name: str = "Hooked dunning", url: str = "https://Hooks.Example.com/billing?x=1") -> dict:
    """The library's dunning with a webhook in its branch's then lane, its token a named secret."""
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    definition["name"] = name
    definition["steps"][2]["then"].insert(0, {
        "key": "notify_partner", "type": "action", "action": "send_webhook",
        "config": {"url": url, "headers": {"Authorization": "Bearer {{ secrets.HOOK_TOKEN }}"}}})
    return definition


@pytest.fixture
def automation(secret):
    library.install_email_templates("payment_dunning")
    return services.create_automation(hooked())


def rows(version) -> set[tuple[str, str, str, str]]:
    return {(ref.step.key, ref.kind, ref.value, ref.host) for ref in StepReference.objects.filter(version=version)}


def test_a_save_writes_what_each_step_refers_to_with_its_row(automation):
    draft = automation.draft_version
    assert rows(draft) == {
        ("gentle", TEMPLATE, "payment_failed_gentle", ""),
        ("urgent", TEMPLATE, "payment_failed_urgent", ""),
        ("update_card", TEMPLATE, "payment_update_card", ""),
        ("final", TEMPLATE, "payment_failed_final", ""),
        ("notify_partner", SECRET, "HOOK_TOKEN", ""),
        ("notify_partner", ORIGIN, "https://hooks.example.com:443", "hooks.example.com"),
    }


def test_a_step_removed_from_the_draft_still_counts_for_the_active_version_until_it_is_replaced(automation):
    services.activate(automation)
    assert [(use.number, use.state, use.steps) for use in index.uses(ORIGIN, "hooks.example.com")] == [
        (1, "active", ["notify_partner"])]
    without = hooked()
    del without["steps"][2]["then"][0]
    services.update_draft(automation, without)
    assert [(use.number, use.state) for use in index.uses(ORIGIN, "hooks.example.com")] == [(1, "active")]
    assert [(use.number, use.state) for use in index.uses(TEMPLATE, "payment_failed_gentle")] == [
        (1, "active"), (2, "draft")]
    assert not rows(automation.draft_version) & {("notify_partner", SECRET, "HOOK_TOKEN", "")}
    services.activate(automation)
    assert index.uses(ORIGIN, "hooks.example.com") == [] and index.uses(SECRET, "HOOK_TOKEN") == []
    assert services.versions_referencing_secret("HOOK_TOKEN") == []
    assert [(use.number, use.state) for use in index.uses(TEMPLATE, "payment_failed_gentle")] == [(2, "active")]


def test_a_changed_step_is_indexed_anew(automation):
    moved = hooked(url="https://other.example:8443/in")
    moved["steps"][0]["config"]["template"] = "payment_failed_final"
    services.update_draft(automation, moved)
    assert index.uses(ORIGIN, "hooks.example.com") == []
    assert [use.values for use in index.uses(ORIGIN, "other.example")] == [["https://other.example:8443"]]
    assert [use.steps for use in index.uses(TEMPLATE, "payment_failed_final")] == [["gentle", "final"]]
    assert [use.steps for use in index.uses(TEMPLATE, "payment_failed_gentle")] == []


def test_an_origin_is_found_by_host_origin_or_url(automation):
    for value in ("hooks.example.com", "HOOKS.example.com", "https://hooks.example.com",
                  "https://hooks.example.com:443/other/path"):
        assert [use.automation_name for use in index.uses(ORIGIN, value)] == ["Hooked dunning"], value
    for value in ("example.com", "http://hooks.example.com", "https://hooks.example.com:8443"):
        assert index.uses(ORIGIN, value) == [], value


def test_a_host_written_as_a_template_is_not_indexed(secret):
    library.install_email_templates("payment_dunning")
    automation = services.create_automation(hooked(url="https://{{ customer.id }}.example.com/h"))
    assert {kind for _, kind, _, _ in rows(automation.draft_version)} == {TEMPLATE, SECRET}


def test_activation_indexes_the_frozen_definition(automation):
    StepReference.objects.all().delete()  # as for a draft saved before the index existed
    services.activate(automation)
    assert ("notify_partner", ORIGIN, "https://hooks.example.com:443", "hooks.example.com") in rows(
        automation.active_version)


def test_the_migration_indexes_versions_saved_before_the_index(automation):
    services.activate(automation)
    services.update_draft(automation, hooked(url="https://other.example/h"))
    before = {version.pk: rows(version) for version in automation.versions.all()}
    StepReference.objects.all().delete()
    migration = __import__("automations.migrations.0017_step_reference", fromlist=["index_saved_versions"])
    migration.index_saved_versions(apps, None)
    assert {version.pk: rows(version) for version in automation.versions.all()} == before


def test_the_lookups_read_the_index_not_the_definitions(automation):
    for number in range(5):  # more automations do not mean more queries
        services.activate(services.create_automation(hooked(name=f"Other {number}")))
    with counting() as cost:
        found = index.uses(ORIGIN, "hooks.example.com")
        secret_users = services.versions_referencing_secret("HOOK_TOKEN")
        template_users = list(index.versions_using(TEMPLATE, "payment_failed_gentle"))
        assert problems_where_used("no_such_template") == []
    assert len(found) == len(secret_users) == len(template_users) == 6
    assert len(cost.statements) == 4, cost  # one each, filtered on the index's columns
    assert all('"automations_stepreference"' in sql for sql in cost.statements), cost
    assert all("snapshot" not in sql for sql in cost.statements[:2]), cost  # no definition is read
