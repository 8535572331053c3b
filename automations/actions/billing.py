"""Billing actions: each calls the billing gateway with an idempotency key, so a redelivered step
or a worker's crash never charges, voids or credits twice. With a gateway that shares the apps'
database (the reference gateway) they run in their step's transaction."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from automations.actions.base import ActionContext, ActionError, Effect, outputs
from automations.actions.gateway import GatewayAction, step_error
from automations.variables import ROOTS
from billing_events.gateway import get_gateway
from billing_events.gateway.base import GatewayError

MAX_AMOUNT = 10**12
AMOUNT = {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "minLength": 1}]}
#: As the definition schema publishes an amount: a positive number, or a variable such as {{ invoice.total }}
#: (any template is accepted; the schema names the plain variables it can check).
PUBLISHED_AMOUNT = {"oneOf": [
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": MAX_AMOUNT},
    {"type": "string", "pattern": r"^\s*(?:0*[1-9]\d{0,11}(?:\.\d{1,4})?|0*\.\d{0,3}[1-9])\s*$"},
    {"type": "string", "pattern": rf"^\{{\{{ ?(?:{'|'.join(ROOTS)})(?:\.[A-Za-z_][A-Za-z0-9_]{{0,30}})* ?\}}\}}$"}]}


def parse_amount(value: Any, field: str) -> Decimal | None:
    """A positive Decimal amount, or None when not given."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ActionError(f"{field}: {value!r} is not an amount") from exc
    if not amount.is_finite() or amount <= 0:
        raise ActionError(f"{field}: {value!r} must be a positive amount")
    if amount >= MAX_AMOUNT:
        raise ActionError(f"{field}: {value!r} must be less than {MAX_AMOUNT}")
    return amount.quantize(Decimal("0.01"))


def literal_amount_errors(config: dict[str, Any], field: str = "amount") -> list[dict[str, str]]:
    value = config.get(field)
    if value is None or (isinstance(value, str) and "{" in value):
        return []
    try:
        parse_amount(value, f"config.{field}")
    except ActionError as exc:
        return [{"field": f"config.{field}", "message": str(exc).split(": ", 1)[1]}]
    return []


def _declined(result: dict[str, Any]) -> ActionError:
    """A decline as the step's failure: retried under the step's retry policy (each attempt charges
    again), then fallback and on_failure apply; its output keeps the decline code so a later branch
    can look at ``steps.<key>.output.decline_code``."""
    return ActionError(f"payment declined: {result.get('decline_code')}", retryable=True, output=result)


ZERO = Decimal("0.00")


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else ZERO
    except InvalidOperation:
        return ZERO


def _entity(context: ActionContext, root: str) -> dict[str, Any] | None:
    """The run's ``customer``, ``invoice``, ... as its steps see it (None when it has none)."""
    value = context.variables.get(root)
    return value if isinstance(value, dict) else None


class RetryPayment(GatewayAction):
    family = "billing"
    key = "retry_payment"
    label = "Retry payment"
    description = "Charge the invoice's amount due again (the customer's default payment method or a given one)."
    config_schema = {"type": "object", "properties": {"payment_method": {
        "type": "string", "minLength": 1,
        "description": "default (the customer's default payment method) or a payment method id."}},
        "additionalProperties": False}
    output_schema = outputs("status", "payment_id", "decline_code", "decline_message", "amount", "currency",
                            "attempt_number", "payment_method")
    local_when_shared = True
    #: Outcomes a test scenario may choose for one attempt (declines as the test processor's cards
    #: give them: pm_card_declined, pm_expired_card, pm_processor_unavailable).
    scenario_outcomes = {"pays": "Pays", "soft_decline": "Declined: card_declined",
                         "hard_decline": "Declined: expired_card",
                         "gateway_error": "Gateway error (temporary)"}

    def operation_key(self, context: ActionContext) -> str:
        # Each attempt is a charge of its own: a retry after a decline charges again rather than
        # being handed the first decline back. Within one attempt the key stays, so a crash never
        # charges twice; the first attempt keeps the step's own key.
        key = context.idempotency_key
        return key if context.attempt == 1 else f"{key}:{context.attempt}"

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        method = config.get("payment_method", "default")
        result = get_gateway().retry_payment(context.entity_id("invoice"),
                                             payment_method=None if method == "default" else method,
                                             idempotency_key=self.operation_key(context))
        if result.get("status") != "succeeded":
            raise _declined(result)
        return result

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        result = super().recover(context)
        if result is not None and result.get("status") != "succeeded":
            raise _declined(result)  # the attempt was made and declined: not made again
        return result

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        method = config.get("payment_method", "default")
        invoice_id = context.entity_id("invoice")
        would = {"would_call_gateway": {"operation": "retry_payment", "invoice_id": invoice_id,
                                        "payment_method": method}}
        try:
            predicted = get_gateway().predict_retry_payment(
                invoice_id, payment_method=None if method == "default" else method,
                invoice=_entity(context, "invoice"), customer=_entity(context, "customer"))
        except GatewayError as exc:
            raise step_error(exc) from exc
        if predicted is None:  # the operator chooses the outcome in the test's scenario
            return {**self._paid(context), **would,
                    "assumed": "the billing system cannot say how this payment would go: assumed to pay"}
        if predicted.get("status") != "succeeded":
            raise _declined({**predicted, **would})
        return {**predicted, **would}

    def scripted(self, outcome: str, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        invoice = _entity(context, "invoice") or {}
        if invoice.get("status") not in (None, "open", "uncollectible"):  # nothing to charge, whatever the card
            raise step_error(GatewayError(f"cannot collect invoice {invoice.get('number') or invoice.get('id')}: "
                                          f"it is {invoice.get('status')}", code="invoice_not_open"))
        if outcome == "gateway_error":
            raise step_error(GatewayError("the payment processor is temporarily unavailable",
                                          code="processor_unavailable", retryable=True))
        paid = self._paid(context)
        if outcome == "pays":
            return paid
        code = "expired_card" if outcome == "hard_decline" else "card_declined"
        raise _declined({**paid, "status": "failed", "decline_code": code,
                         "decline_message": f"declined ({code}), as the test scenario says"})

    def effect(self, output: dict[str, Any], context: ActionContext) -> Effect:
        if output.get("status") != "succeeded":
            return Effect()
        invoice = _entity(context, "invoice") or {}
        paid = _decimal(invoice.get("amount_paid")) + _decimal(output.get("amount") or invoice.get("amount_due"))
        return Effect({"invoice": {"status": "paid", "amount_due": ZERO, "amount_paid": paid}},
                      ("payment.succeeded", "invoice.paid"))

    @staticmethod
    def _paid(context: ActionContext) -> dict[str, Any]:
        """A payment of the invoice's amount due, as the run's data says it is."""
        invoice = _entity(context, "invoice") or {}
        return {"status": "succeeded", "payment_id": None, "decline_code": None, "decline_message": None,
                "amount": invoice.get("amount_due"), "currency": invoice.get("currency")}


class VoidInvoice(GatewayAction):
    family = "billing"
    key = "void_invoice"
    label = "Void invoice"
    description = "Void the invoice so it is no longer collectible."
    config_schema = {"type": "object", "properties": {"reason": {"type": "string", "description": "Why it is voided."}},
                     "additionalProperties": False}
    output_schema = outputs("invoice_id", "status", "reason")
    local_when_shared = True

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return get_gateway().void_invoice(context.entity_id("invoice"), reason=config.get("reason", ""),
                                          idempotency_key=self.operation_key(context))

    def effect(self, output: dict[str, Any], context: ActionContext) -> Effect:
        return Effect({"invoice": {"status": "void", "amount_due": ZERO}}, ("invoice.voided",))

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return {"would_call_gateway": {"operation": "void_invoice", "invoice_id": context.entity_id("invoice"),
                                       "reason": config.get("reason", "")}}


class AmountAction(GatewayAction):
    """A gateway action with an optional ``amount``: checked on save when it is written literally."""

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        return literal_amount_errors(config)

    def published_schema(self) -> dict[str, Any]:
        return {**self.config_schema, "properties": {**self.config_schema["properties"], "amount": PUBLISHED_AMOUNT}}


class CreateCreditNote(AmountAction):
    family = "billing"
    key = "create_credit_note"
    label = "Create credit note"
    description = "Credit an amount (default: the full amount) against the invoice."
    config_schema = {"type": "object", "properties": {
        "amount": {**AMOUNT, "description": "Amount to credit (default: the invoice's full amount)."},
        "reason": {"type": "string", "description": "Why the credit is given."}}, "additionalProperties": False}
    output_schema = outputs("credit_note_id", "invoice_id", "amount", "currency", "invoice_status", "amount_due")
    local_when_shared = True

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return get_gateway().create_credit_note(
            context.entity_id("invoice"), amount=parse_amount(config.get("amount"), "config.amount"),
            reason=config.get("reason", ""), idempotency_key=self.operation_key(context))

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        amount = parse_amount(config.get("amount"), "config.amount")
        return {"would_call_gateway": {"operation": "create_credit_note", "invoice_id": context.entity_id("invoice"),
                                       "amount": str(amount) if amount else "full", "reason": config.get("reason", "")}}


class ApplyCredits(AmountAction):
    family = "billing"
    key = "apply_credits"
    label = "Apply credits"
    description = "Pay the invoice from the customer's credit balance (default: as much as available)."
    config_schema = {"type": "object", "properties": {
        "amount": {**AMOUNT, "description": "Amount to apply (default: as much as the balance allows)."}},
        "additionalProperties": False}
    output_schema = outputs("applied", "balance", "amount_due", "invoice_status")
    local_when_shared = True

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return get_gateway().apply_credits(context.entity_id("invoice"),
                                           amount=parse_amount(config.get("amount"), "config.amount"),
                                           idempotency_key=self.operation_key(context))

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        amount = parse_amount(config.get("amount"), "config.amount")
        return {"would_call_gateway": {"operation": "apply_credits", "invoice_id": context.entity_id("invoice"),
                                       "amount": str(amount) if amount else "all available"}}
