"""manage.py demo --setup-only: the demo data, the live dunning automation, the waiting execution."""
from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import call_command

from automations.models import Automation, Execution
from config.demo_data import ADMIN_PASSWORD, ADMIN_USERNAME

pytestmark = pytest.mark.django_db


def test_demo_setup_leaves_a_waiting_dunning_execution(django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--setup-only")
        call_command("demo", "--setup-only")  # running it again changes nothing
    assert "already emitted payment.failed evt_demo_payment_failed" in capsys.readouterr().out
    automation = Automation.objects.get()
    assert automation.status == "active"
    execution = Execution.objects.get()
    assert execution.status == "waiting"
    assert list(execution.step_runs.values_list("step_key", flat=True)) == ["gentle", "wait_3d"]
    assert mail.outbox[0].subject == "We couldn't process your payment for INV-2026-0042"
    assert authenticate(username=ADMIN_USERNAME, password=ADMIN_PASSWORD).is_superuser
