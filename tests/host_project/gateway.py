"""The host's gateway: translates its models to the documented fields, and charges its cards."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from billing_events.gateway import BillingGateway
from tests.host_project.models import Account, Bill, Charge

STATES = {"unpaid": "open", "settled": "paid", "cancelled": "void"}


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


class HostGateway(BillingGateway):
    def get_customer(self, customer_id: str) -> dict[str, Any] | None:
        account = Account.objects.filter(code=customer_id).first()
        if account is None:
            return None
        return {"id": account.code, "name": account.display_name, "email": account.contact_email,
                "phone": account.mobile, "tags": account.labels, "timezone": "Europe/Paris", "metadata": {},
                "segment": None, "default_payment_method": account.card_token}

    def get_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        bill = Bill.objects.select_related("account").filter(reference=invoice_id).first()
        if bill is None:
            return None
        return {"id": bill.reference, "number": bill.reference.upper(), "status": STATES[bill.state],
                "currency": bill.currency, "total": _money(bill.total_cents), "amount_due": _money(bill.due_cents),
                "amount_paid": _money(bill.total_cents - bill.due_cents), "due_date": bill.due_on,
                "customer_id": bill.account.code, "payment_url": f"https://host.example/bills/{bill.reference}"}

    def get_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return None

    def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        return None

    def find_operation(self, idempotency_key: str) -> dict[str, Any] | None:
        charge = Charge.objects.filter(idempotency_key=idempotency_key).first()
        return self._result(charge) if charge else None

    def retry_payment(self, invoice_id: str, *, payment_method: str | None, idempotency_key: str) -> dict[str, Any]:
        with transaction.atomic():
            bill = Bill.objects.select_for_update().select_related("account").get(reference=invoice_id)
            charge = Charge.objects.filter(idempotency_key=idempotency_key).first()
            if charge is None:
                token = payment_method or bill.account.card_token
                ok = token == "tok_good"
                charge = Charge.objects.create(bill=bill, cents=bill.due_cents, ok=ok,
                                               code="" if ok else "do_not_honor", idempotency_key=idempotency_key)
                if ok:
                    bill.state, bill.due_cents = "settled", 0
                    bill.save()
        return self._result(charge)

    @staticmethod
    def _result(charge: Charge) -> dict[str, Any]:
        return {"status": "succeeded" if charge.ok else "failed", "payment_id": f"ch_{charge.pk}",
                "decline_code": charge.code or None, "amount": _money(charge.cents)}
