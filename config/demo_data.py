"""Demo data: three customers with invoices, the Payment Dunning automation live, an admin user."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from automations import clock, library, services
from automations.models import Automation
from billing_events.models import Customer, Invoice, Subscription

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
DEMO_EVENT_ID = "evt_demo_payment_failed"

CUSTOMERS = [
    {"id": "cus_1001", "name": "Acme Corp", "email": "billing@acme.example", "segment": "smb",
     "timezone": "America/New_York", "default_payment_method": "pm_card_declined", "tags": ["annual"],
     "metadata": {"account_manager": "dana@billing.example"}},
    {"id": "cus_1002", "name": "Globex", "email": "ap@globex.example", "segment": "enterprise",
     "timezone": "Europe/Berlin", "default_payment_method": "pm_card_ok", "tags": [], "metadata": {}},
    {"id": "cus_1003", "name": "Initech", "email": "finance@initech.example", "segment": "smb",
     "timezone": "America/Chicago", "default_payment_method": "pm_insufficient_funds", "tags": [], "metadata": {}},
]
INVOICES = [
    {"id": "inv_2001", "customer_id": "cus_1001", "number": "INV-2026-0042", "total": "1250.00",
     "amount_due": "1250.00", "due_date": "2026-11-30"},
    {"id": "inv_2002", "customer_id": "cus_1002", "number": "INV-2026-0043", "total": "9800.00",
     "amount_due": "0.00", "amount_paid": "9800.00", "status": "paid", "due_date": "2026-11-25"},
    {"id": "inv_2003", "customer_id": "cus_1003", "number": "INV-2026-0044", "total": "320.00",
     "amount_due": "320.00", "due_date": "2026-12-05"},
]


@transaction.atomic
def load_demo_data() -> Automation:
    """Create (or leave as they are) the demo records; returns the dunning automation."""
    for customer in CUSTOMERS:
        Customer.objects.get_or_create(id=customer["id"], defaults=customer)
    for invoice in INVOICES:
        Invoice.objects.get_or_create(id=invoice["id"], defaults={
            "status": "open", "currency": "USD", "amount_paid": Decimal("0"),
            "payment_url": f"https://billing.example/pay/{invoice['id']}", **invoice})
    Subscription.objects.get_or_create(id="sub_3001", defaults={  # renews in 30 days, as the catalogue's sample
        "customer_id": "cus_1001", "plan": "pro-monthly", "current_period_end": clock.now() + timedelta(days=30)})

    user_model = get_user_model()
    if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
        user_model.objects.create_superuser(ADMIN_USERNAME, "admin@billing.example", ADMIN_PASSWORD)

    automation = Automation.objects.filter(name="Payment dunning").first()
    if automation is None:
        automation = library.instantiate("payment_dunning")
        services.activate(automation)
    return automation
