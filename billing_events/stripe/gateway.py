"""``StripeGateway``: the billing gateway for a Stripe account.

Reads go to Stripe's API (each object read at most once within a short window, so one step never
reads an object twice); every operation is sent with an Idempotency-Key derived from the step's
operation key and noted in the journal (``billing_events.stripe.journal``), so a repeat is answered
with the first result and an attempt a crash left open is settled by ``find_operation``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import stripe

from billing_events import clock
from billing_events.declines import classify
from billing_events.gateway.base import BillingGateway, GatewayError, Record
from billing_events.gateway.operations import CUSTOMER_FIELDS
from billing_events.stripe import api, journal, predictions
from billing_events.stripe.reads import (
    SEGMENT, TAG_SEPARATOR, TAGS, TIMEZONE, credits_record, currency_code, customer_record, default_payment_method,
    invoice_record, metadata_of, payment_id_of, payment_record, plain, subscription_record, tags_of, to_decimal, to_minor)

#: The metadata key of what an operation creates (a credit note, a balance transaction): the
#: operation key, by which ``find_operation`` finds it after Stripe's idempotency window.
OPERATION_METADATA = "billing_operation"
#: How long Stripe answers a repeated Idempotency-Key with the first result.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
#: Customer fields Stripe has no field for: kept in the customer's metadata.
METADATA_FIELDS = {"segment": SEGMENT, "timezone": TIMEZONE}
#: Card brands as Stripe names them, as the card rules name the networks.
NETWORKS = {"amex": "amex", "american_express": "amex", "diners": "diners", "discover": "discover",
            "jcb": "jcb", "mastercard": "mastercard", "unionpay": "unionpay", "visa": "visa",
            "cartes_bancaires": "cartes_bancaires", "eftpos_au": "eftpos_au", "interac": "interac"}


class ReadCache:
    """Stripe objects read in the last ``seconds``, per thread: a worker's pass over a run (the
    card check, then the charge, then the next step's variables) reads each object once. An
    operation replaces what it changed with what Stripe answered."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._local = threading.local()

    def _store(self) -> dict[tuple[str, str], tuple[float, dict[str, Any] | None]]:
        if not hasattr(self._local, "store"):
            self._local.store = {}
        return self._local.store

    def get(self, kind: str, object_id: str, fetch: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        store, now = self._store(), time.monotonic()
        hit = store.get((kind, object_id))
        if hit is not None and hit[0] > now:
            return hit[1]
        value = fetch()
        store[(kind, object_id)] = (now + self.seconds, value)
        return value

    def put(self, kind: str, value: dict[str, Any]) -> None:
        self._store()[(kind, value["id"])] = (time.monotonic() + self.seconds, value)

    def forget(self, kind: str, object_id: str) -> None:
        self._store().pop((kind, object_id), None)

    def clear(self) -> None:
        self._store().clear()


def _network(method: dict[str, Any]) -> str:
    card = method.get("card") or {}
    brand = ((card.get("networks") or {}).get("preferred") or card.get("brand") or "").lower()
    return NETWORKS.get(brand, "")


class StripeGateway(BillingGateway):
    """Reads and changes a Stripe account's customers, invoices, subscriptions and payments."""

    shares_database = False
    #: How long an object read from Stripe is reused (see ``ReadCache``).
    read_cache_seconds: float = 5.0

    def __init__(self) -> None:
        self.cache = ReadCache(self.read_cache_seconds)

    # Reads

    def _retrieve(self, kind: str, object_id: str, fetch: Callable[[Any], Any]) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                found = plain(api.call(lambda: fetch(api.v1())))
            except GatewayError as exc:
                if api.is_missing(exc):
                    return None
                raise
            return None if found.get("deleted") else found

        return self.cache.get(kind, object_id, read) if object_id else None

    def _customer(self, customer_id: str) -> dict[str, Any] | None:
        return self._retrieve("customer", customer_id, lambda c: c.customers.retrieve(customer_id))

    def _invoice(self, invoice_id: str) -> dict[str, Any] | None:
        return self._retrieve("invoice", invoice_id, lambda c: c.invoices.retrieve(invoice_id))

    def _payment_method(self, method_id: str) -> dict[str, Any] | None:
        return self._retrieve("payment_method", method_id, lambda c: c.payment_methods.retrieve(method_id))

    def get_customer(self, customer_id: str) -> Record | None:
        customer = self._customer(customer_id)
        return customer_record(customer) if customer else None

    def get_invoice(self, invoice_id: str) -> Record | None:
        invoice = self._invoice(invoice_id)
        return invoice_record(invoice) if invoice else None

    def get_subscription(self, subscription_id: str) -> Record | None:
        subscription = self._retrieve("subscription", subscription_id,
                                      lambda c: c.subscriptions.retrieve(subscription_id))
        return subscription_record(subscription) if subscription else None

    def get_payment(self, payment_id: str) -> Record | None:
        if payment_id.startswith("pi_"):
            payment = self._retrieve("payment_intent", payment_id, lambda c: c.payment_intents.retrieve(payment_id))
        elif payment_id.startswith(("ch_", "py_")):
            payment = self._retrieve("charge", payment_id, lambda c: c.charges.retrieve(payment_id))
        else:
            return None
        return payment_record(payment) if payment else None

    def get_credits(self, customer_id: str) -> Record | None:
        customer = self._customer(customer_id)
        return credits_record(customer) if customer else None

    def list_collection(self, name: str, *, after: str | None = None, limit: int = 200) -> tuple[list[Record], str | None]:
        if name == "usage":
            return [], None  # usage lives in Stripe's meters, which this gateway does not read
        readers = {"customers": (lambda c, p: c.customers.list(params=p), customer_record),
                   "invoices": (lambda c, p: c.invoices.list(params=p), invoice_record),
                   "subscriptions": (lambda c, p: c.subscriptions.list(params={**p, "status": "all"}),
                                     subscription_record)}
        if name not in readers:
            raise ValueError(f"unknown collection {name!r}")
        list_page, record = readers[name]
        params: dict[str, Any] = {"limit": max(1, min(limit, 100))}  # Stripe's largest page
        if after:
            params["starting_after"] = after
        page = plain(api.call(lambda: list_page(api.v1(), params)))
        rows = page.get("data") or []
        return [record(row) for row in rows], (rows[-1]["id"] if rows and page.get("has_more") else None)

    # Operations

    def _once(self, kind: str, key: str, args: dict[str, Any]) -> Record:
        """Perform ``kind`` with ``args`` once for ``key``: a key already answered gets its first
        result without a request; one sent but never answered is sent again with the same
        Idempotency-Key, which Stripe answers with the first result."""
        if not key:
            raise GatewayError("an idempotency key is required", code="idempotency_key_missing")
        found = journal.begin(key, kind, args)
        if found is not None and found.state == journal.DONE:
            return found.result or {}
        return journal.finish(key, self._perform(kind, found.args if found else args, key))

    def _perform(self, kind: str, args: dict[str, Any], key: str) -> Record:
        return getattr(self, f"_send_{kind}")(args, key)

    def find_operation(self, idempotency_key: str) -> Record | None:
        found = journal.entry(idempotency_key)
        if found is None:
            return None  # never sent: the operation was not performed
        if found.state == journal.DONE:
            return found.result
        if clock.now() - found.sent_at < IDEMPOTENCY_WINDOW:
            try:
                return journal.finish(idempotency_key, self._perform(found.kind, found.args, idempotency_key))
            except GatewayError as exc:
                if exc.retryable:
                    raise
                # Stripe could not replay it (a fake Stripe without idempotency acts anew and
                # refuses what is already done): what happened is read from the objects.
        looked_up = getattr(self, f"_look_up_{found.kind}")(found.args, idempotency_key)
        return journal.finish(idempotency_key, looked_up) if looked_up is not None else None

    # retry_payment

    def describe_payment_method(self, invoice_id: str, *, payment_method: str | None,
                                customer: Record | None = None) -> Record | None:
        method_id = payment_method or self._default_method(invoice_id, customer)
        if not method_id:
            return None
        method = self._payment_method(method_id)
        if method is None:
            return None
        card = method.get("card") or {}
        return {"id": method_id, "fingerprint": card.get("fingerprint") or "", "network": _network(method),
                "updated_at": None}  # Stripe does not say when a card's details last changed

    def _default_method(self, invoice_id: str, customer: Record | None) -> str | None:
        """What Stripe would charge the invoice with: the invoice's own default, else its customer's."""
        invoice = self._invoice(invoice_id)
        if invoice is None:
            return (customer or {}).get("default_payment_method")
        own = invoice.get("default_payment_method")
        if own:
            return own if isinstance(own, str) else own.get("id")
        stored = self._customer(str(invoice_record(invoice)["customer_id"] or ""))
        return default_payment_method(stored) if stored else (customer or {}).get("default_payment_method")

    def predict_retry_payment(self, invoice_id: str, *, payment_method: str | None, invoice: Record | None = None,
                              customer: Record | None = None) -> Record | None:
        """What the retry would give now, or the GatewayError it would raise; None when only the
        charge can tell (see ``predictions``). An invoice Stripe does not have (a test on sample
        data) is judged by ``invoice``, the run's view of it."""
        stripe_invoice = self._invoice(invoice_id)
        status = stripe_invoice.get("status") if stripe_invoice else (invoice or {}).get("status")
        if status is not None and status not in predictions.PAYABLE:
            number = (stripe_invoice or invoice or {}).get("number") or invoice_id
            raise GatewayError(f"Stripe: cannot collect invoice {number}: it is {status}", code="invoice_not_open")
        if stripe_invoice is None:
            return None
        method_id = payment_method or self._default_method(invoice_id, customer)
        if not method_id:
            raise GatewayError("Stripe: the customer has no payment method to charge the invoice with",
                               code="no_payment_method")
        method = self._payment_method(method_id)
        if method is None:
            raise GatewayError(f"Stripe: No such PaymentMethod: '{method_id}'", code="resource_missing")
        code = predictions.known_decline(method, clock.now())
        if code is not None:
            error = {"decline_code": code, "code": "card_declined", "message": predictions.decline_message(code),
                     "payment_method": method}
            return self._declined(invoice_id, error, payment_method, payment_id=None)
        if method.get("livemode") or method.get("type") != "card":
            return None  # a real card, or a debit that settles days later: only the charge tells
        return {"status": "succeeded", "payment_id": None, "amount": invoice_record(stripe_invoice)["amount_due"],
                "currency": currency_code(stripe_invoice.get("currency")), "payment_method": method_id,
                "decline": None, "decline_code": "", "decline_message": ""}

    def retry_payment(self, invoice_id: str, *, payment_method: str | None, idempotency_key: str) -> Record:
        return self._once("retry_payment", idempotency_key, {"invoice_id": invoice_id, "payment_method": payment_method})

    def _send_retry_payment(self, args: dict[str, Any], key: str) -> Record:
        invoice_id, method = args["invoice_id"], args.get("payment_method")
        params = {"payment_method": method} if method else None
        try:
            invoice = plain(api.call(lambda: api.v1().invoices.pay(invoice_id, params=params,
                                                                           options=api.options(key))))
        except stripe.CardError as exc:  # a decline leaves what the invoice asks as it was
            error = api.error_body(exc)
            intent = error.get("payment_intent") or {}
            return self._declined(invoice_id, error, method, payment_id=intent.get("id") if isinstance(intent, dict)
                                  else intent)
        self.cache.put("invoice", invoice)
        if invoice.get("status") == "paid":
            return self._paid(invoice, method)
        # Answered without an error but not paid: the payment's last error says why.
        payment_id = payment_id_of(invoice)
        intent = self._retrieve("payment_intent", payment_id, lambda c: c.payment_intents.retrieve(payment_id)) \
            if payment_id and payment_id.startswith("pi_") else None
        return self._declined(invoice_id, (intent or {}).get("last_payment_error") or {}, method, payment_id=payment_id)

    def _paid(self, invoice: dict[str, Any], method: str | None) -> Record:
        record = invoice_record(invoice)
        return {"status": "succeeded", "payment_id": record["payment_id"], "amount": record["amount_paid"],
                "currency": record["currency"], "payment_method": method or self._default_method(invoice["id"], None),
                "decline": None, "decline_code": "", "decline_message": ""}

    def _declined(self, invoice_id: str, error: dict[str, Any], method: str | None, *, payment_id: str | None) -> Record:
        """A failed result carrying Stripe's decline: its decline code, and the network's own
        decline and advice codes, which the card rules read (never retry, wait, new details)."""
        used = error.get("payment_method") if isinstance(error.get("payment_method"), dict) else None
        method_id = method or (used or {}).get("id") or self._default_method(invoice_id, None)
        if used is None and method_id:
            used = self._payment_method(method_id)
        code = error.get("decline_code") or error.get("code") or "card_declined"
        message = error.get("message") or ""
        decline = classify(code, network=_network(used or {}), network_code=error.get("network_decline_code") or "",
                           advice_code=error.get("network_advice_code") or "", message=message)
        invoice = self._invoice(invoice_id) or {}
        return {"status": "failed", "payment_id": payment_id,
                "amount": to_decimal(invoice.get("amount_due"), invoice.get("currency")),
                "currency": currency_code(invoice.get("currency")), "payment_method": method_id,
                "decline": decline.as_record(), "decline_code": decline.code, "decline_message": message}

    def _look_up_retry_payment(self, args: dict[str, Any], key: str) -> Record | None:
        self.cache.forget("invoice", args["invoice_id"])
        invoice = self._invoice(args["invoice_id"])
        if invoice is None or invoice.get("status") != "paid":
            return None  # no payment to find: not performed (a decline left nothing to tell it by)
        return self._paid(invoice, args.get("payment_method"))

    # void_invoice

    def void_invoice(self, invoice_id: str, *, reason: str, idempotency_key: str) -> Record:
        return self._once("void_invoice", idempotency_key, {"invoice_id": invoice_id, "reason": reason})

    def _send_void_invoice(self, args: dict[str, Any], key: str) -> Record:
        invoice = plain(api.call(lambda: api.v1().invoices.void_invoice(args["invoice_id"],
                                                                                options=api.options(key))))
        self.cache.put("invoice", invoice)
        return {"invoice_id": invoice["id"], "status": invoice.get("status"), "reason": args.get("reason", "")}

    def _look_up_void_invoice(self, args: dict[str, Any], key: str) -> Record | None:
        self.cache.forget("invoice", args["invoice_id"])
        invoice = self._invoice(args["invoice_id"])
        if invoice is None or invoice.get("status") != "void":
            return None
        return {"invoice_id": invoice["id"], "status": "void", "reason": args.get("reason", "")}

    # create_credit_note

    def create_credit_note(self, invoice_id: str, *, amount: Decimal | None, reason: str,
                           idempotency_key: str) -> Record:
        return self._once("create_credit_note", idempotency_key,
                          {"invoice_id": invoice_id, "amount": amount, "reason": reason})

    def _invoice_now(self, invoice_id: str) -> dict[str, Any]:
        invoice = self._invoice(invoice_id)
        if invoice is None:
            raise GatewayError(f"no invoice {invoice_id!r}", code="invoice_not_found")
        return invoice

    def _send_create_credit_note(self, args: dict[str, Any], key: str) -> Record:
        invoice = self._invoice_now(args["invoice_id"])
        currency = invoice.get("currency")
        creditable = ((invoice.get("total") or 0) - (invoice.get("pre_payment_credit_notes_amount") or 0)
                      - (invoice.get("post_payment_credit_notes_amount") or 0))
        amount = creditable if args.get("amount") in (None, "") else to_minor(Decimal(str(args["amount"])), currency)
        if amount <= 0 or amount > creditable:
            raise GatewayError(f"credit of {to_decimal(amount, currency)} is not between 0 and the "
                               f"{to_decimal(creditable, currency)} still creditable", code="invalid_amount")
        params: dict[str, Any] = {"invoice": invoice["id"], "amount": amount,
                                  "metadata": {OPERATION_METADATA: key}}
        if args.get("reason"):
            params["memo"] = str(args["reason"])[:5000]
        if invoice.get("status") == "paid":
            # Money already collected comes back as credit on the customer's balance.
            params["credit_amount"] = amount
        note = plain(api.call(lambda: api.v1().credit_notes.create(params=params, options=api.options(key))))
        return self._credit_note_result(note)

    def _credit_note_result(self, note: dict[str, Any]) -> Record:
        invoice_id = note["invoice"] if isinstance(note["invoice"], str) else note["invoice"]["id"]
        self.cache.forget("invoice", invoice_id)
        invoice = self._invoice_now(invoice_id)
        currency = note.get("currency")
        return {"credit_note_id": note["id"], "invoice_id": invoice_id, "amount": to_decimal(note.get("amount"), currency),
                "currency": currency_code(currency), "invoice_status": invoice.get("status"),
                "amount_due": to_decimal(invoice.get("amount_due"), invoice.get("currency"))}

    def _look_up_create_credit_note(self, args: dict[str, Any], key: str) -> Record | None:
        notes = plain(api.call(lambda: api.v1().credit_notes.list(
            params={"invoice": args["invoice_id"], "limit": 100})))
        for note in notes.get("data") or []:
            if (note.get("metadata") or {}).get(OPERATION_METADATA) == key:
                return self._credit_note_result(note)
        return None

    # apply_credits

    def apply_credits(self, invoice_id: str, *, amount: Decimal | None, idempotency_key: str) -> Record:
        return self._once("apply_credits", idempotency_key, {"invoice_id": invoice_id, "amount": amount})

    def _send_apply_credits(self, args: dict[str, Any], key: str) -> Record:
        """Stripe applies a credit balance by itself only when an invoice is finalized; for an open
        invoice the credit is spent in two writes: a debit of the customer's balance, and a credit
        note of the same amount that lowers what the invoice asks (paying it when nothing is left)."""
        invoice = self._invoice_now(args["invoice_id"])
        if invoice.get("status") not in ("open", "uncollectible"):
            raise GatewayError(f"cannot apply credits to invoice {invoice.get('number') or invoice['id']}: "
                               f"it is {invoice.get('status')}", code="invoice_not_open")
        currency = invoice.get("currency")
        customer_id = invoice_record(invoice)["customer_id"] or ""
        customer = self._customer(customer_id)
        if customer is None:
            raise GatewayError(f"no customer {customer_id!r}", code="customer_not_found")
        available = max(-(customer.get("balance") or 0), 0)
        limits = [available, invoice.get("amount_due") or 0]
        if args.get("amount") not in (None, ""):
            limits.append(to_minor(Decimal(str(args["amount"])), currency))
        applied = min(limits)
        if applied <= 0:
            return {"applied": to_decimal(0, currency), "balance": to_decimal(available, currency),
                    "amount_due": to_decimal(invoice.get("amount_due"), currency), "invoice_status": invoice.get("status")}
        metadata = {OPERATION_METADATA: key}
        debit = plain(api.call(lambda: api.v1().customers.balance_transactions.create(
            customer_id, params={"amount": applied, "currency": currency, "metadata": metadata,
                                 "description": f"Applied to invoice {invoice.get('number') or invoice['id']}"},
            options=api.options(f"{key}:balance"))))
        plain(api.call(lambda: api.v1().credit_notes.create(
            params={"invoice": invoice["id"], "amount": applied, "metadata": metadata,
                    "memo": "Paid from the customer's credit balance"},
            options=api.options(f"{key}:credit_note"))))
        self.cache.forget("customer", customer_id)
        self.cache.forget("invoice", invoice["id"])
        after = self._invoice_now(invoice["id"])
        return {"applied": to_decimal(applied, currency), "balance": to_decimal(-(debit.get("ending_balance") or 0), currency),
                "amount_due": to_decimal(after.get("amount_due"), currency), "invoice_status": after.get("status")}

    def _look_up_apply_credits(self, args: dict[str, Any], key: str) -> Record | None:
        return None  # both writes carry the key in metadata; repeating them is answered by Stripe's key

    # update_customer, add_tag

    def update_customer(self, customer_id: str, *, fields: dict[str, Any], metadata: dict[str, Any],
                        idempotency_key: str) -> Record:
        unknown = sorted(set(fields) - set(CUSTOMER_FIELDS))
        if unknown:
            raise GatewayError(f"customer fields {', '.join(unknown)} cannot be set", code="invalid_field")
        return self._once("update_customer", idempotency_key,
                          {"customer_id": customer_id, "fields": fields, "metadata": metadata})

    def _send_update_customer(self, args: dict[str, Any], key: str) -> Record:
        fields, metadata = args.get("fields") or {}, dict(args.get("metadata") or {})
        params: dict[str, Any] = {}
        for name, value in fields.items():
            if name in METADATA_FIELDS:
                metadata[METADATA_FIELDS[name]] = value
            elif name == "default_payment_method":
                params["invoice_settings"] = {"default_payment_method": value or ""}
            else:
                params[name] = "" if value is None else value  # Stripe clears a field sent empty
        if metadata:
            # Stripe removes a metadata key sent with an empty value.
            params["metadata"] = {name: "" if value is None else str(value) for name, value in metadata.items()}
        customer = self._update(args["customer_id"], params, key)
        return {"customer_id": customer["id"], "updated": sorted(fields), "metadata": metadata_of(customer)}

    def _update(self, customer_id: str, params: dict[str, Any], key: str) -> dict[str, Any]:
        customer = plain(api.call(lambda: api.v1().customers.update(customer_id, params=params,
                                                                            options=api.options(key))))
        self.cache.put("customer", customer)
        return customer

    def _look_up_update_customer(self, args: dict[str, Any], key: str) -> Record | None:
        return None  # setting the same values again does no harm

    def add_tag(self, customer_id: str, tag: str, *, idempotency_key: str) -> Record:
        return self._once("add_tag", idempotency_key, {"customer_id": customer_id, "tag": tag})

    def _send_add_tag(self, args: dict[str, Any], key: str) -> Record:
        customer_id, tag = args["customer_id"], args["tag"]
        if TAG_SEPARATOR in tag:
            raise GatewayError(f"tag {tag!r} cannot contain {TAG_SEPARATOR!r}", code="invalid_tag")
        customer = self._customer(customer_id)
        if customer is None:
            raise GatewayError(f"no customer {customer_id!r}", code="customer_not_found")
        tags = tags_of(metadata_of(customer))
        added = tag not in tags
        if added:
            tags = [*tags, tag]
            customer = self._update(customer_id, {"metadata": {TAGS: TAG_SEPARATOR.join(tags)}}, key)
        return {"customer_id": customer["id"], "tag": tag, "added": added, "tags": tags}

    def _look_up_add_tag(self, args: dict[str, Any], key: str) -> Record | None:
        return None  # adding a tag the customer has is a no-op

    # Links a customer needs

    def card_update_url(self, customer_id: str, *, return_url: str | None = None) -> str:
        """A new billing-portal session's address, where the customer updates their card: a
        session lasts minutes, so it is made when the customer follows the link an email carries
        (``billing_events.card_links``), not when the email is written."""
        params: dict[str, Any] = {"customer": customer_id}
        if return_url:
            params["return_url"] = return_url
        session = plain(api.call(lambda: api.v1().billing_portal.sessions.create(params=params)))
        return session["url"]
