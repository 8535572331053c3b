"""Billing actions: each calls the billing gateway with an idempotency key, so a redelivered step
or a worker's crash never charges, voids or credits twice. With a gateway that shares the apps'
database (the reference gateway) they run in their step's transaction."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from automations import card_retries
from automations.actions.base import ActionContext, ActionError, Effect, outputs
from automations.holds import Held
from automations.actions.gateway import GatewayAction, step_error
from automations.variables import ROOTS
from billing_events.gateway import get_gateway
from billing_events import processor
from billing_events.declines import Decline
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
    """A decline as the step's failure; its output keeps the decline (``steps.<key>.output.decline``:
    its code, category, network and advice) so a later branch can look at it. A soft decline is
    retried under the step's retry policy (each attempt charges again, after the wait the network
    advised if it did); one the issuer will never approve, or that asks for new card details, is not:
    the card rules refuse that card until its details change, whoever tries."""
    decline = Decline.from_record(result.get("decline"))
    retryable = decline is None or not decline.never_again
    return ActionError(f"payment declined: {result.get('decline_code')}", retryable=retryable,
                       retry_after=decline.retry_after if decline else None, output=result)


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
    description = ("Charge the invoice's amount due again (the customer's default payment method or a given one), "
                   "within the card networks' retry rules.")
    config_schema = {"type": "object", "properties": {
        "payment_method": {"type": "string", "minLength": 1, "title": "Payment method",
                           "description": "default (the customer's default payment method) or a payment method id."},
        "over_limit": {"enum": [card_retries.WAIT, card_retries.FAIL],
                       "title": "When the card's retry limit is reached",
                       "x-choices": {card_retries.WAIT: "Wait until the card may be charged again",
                                     card_retries.FAIL: "Fail the step"},
                       "description": "The card networks allow one card to be charged only so often (Mastercard: "
                                      "10 times in 24 hours), counted across all automations. By default the step "
                                      "waits until the card may be charged again."}},
        "additionalProperties": False}
    output_schema = outputs("status", "payment_id", "decline_code", "decline_message", "decline", "amount", "currency",
                            "attempt_number", "payment_method")
    local_when_shared = True
    #: Outcomes a test scenario may choose for one attempt (declines as the test processor's cards
    #: give them: pm_card_declined, pm_expired_card, pm_card_lost, pm_processor_unavailable).
    scenario_outcomes = {"pays": "Pays", "soft_decline": "Declined, may be retried (card declined)",
                         "credentials_decline": "Declined, card details must be updated (expired card)",
                         "hard_decline": "Declined for good (card reported lost)",
                         "gateway_error": "Gateway error (temporary)"}
    #: Each declining outcome as the test processor's card gives it.
    SCRIPTED_CARDS = {"soft_decline": "pm_card_declined", "credentials_decline": "pm_expired_card",
                      "hard_decline": "pm_card_lost"}

    def operation_key(self, context: ActionContext) -> str:
        # Each attempt is a charge of its own: a retry after a decline charges again rather than
        # being handed the first decline back. Within one attempt the key stays, so a crash never
        # charges twice; the first attempt keeps the step's own key.
        key = context.idempotency_key
        return key if context.attempt == 1 else f"{key}:{context.attempt}"

    @staticmethod
    def _method(config: dict[str, Any]) -> str | None:
        method = config.get("payment_method", "default")
        return None if method == "default" else method

    def _card(self, config: dict[str, Any], context: ActionContext) -> card_retries.Card | None:
        """The card this attempt would charge, as the gateway describes it."""
        invoice_id = context.entity_id("invoice")
        try:
            described = get_gateway().describe_payment_method(invoice_id, payment_method=self._method(config),
                                                              customer=_entity(context, "customer"))
        except GatewayError as exc:
            raise step_error(exc) from exc
        method = self._method(config) or (_entity(context, "customer") or {}).get("default_payment_method")
        return card_retries.Card.of(described, method)

    def admit(self, config: dict[str, Any], context: ActionContext) -> Held | None:
        """The card rules, before the card is charged: a card declined for good is refused, a charge
        over the network's limits waits (or fails, as ``over_limit`` says). A worker's run reserves
        the charge; test mode counts the charges the test made."""
        card = self._card(config, context)
        if card is None:  # no payment method: the gateway declines without reaching a card
            return None
        invoice = _entity(context, "invoice") or {}
        amount, currency = _decimal(invoice.get("amount_due")), str(invoice.get("currency") or "")[:3]
        over_limit = config.get("over_limit", card_retries.WAIT)
        charge = {"invoice_id": context.entity_id("invoice"), "amount": str(amount), "currency": currency}
        try:
            if context.rehearsal is not None:
                held = card_retries.rehearse(card, amount=amount, now=context.now, over_limit=over_limit,
                                             rehearsed=context.rehearsal.setdefault("card_charges", []))
            else:
                held = card_retries.admit(card, key=self.operation_key(context), amount=amount, now=context.now,
                                          over_limit=over_limit, currency=currency, invoice_id=charge["invoice_id"],
                                          execution_id=context.execution_id, step_key=context.step_key,
                                          automation_id=context.automation_id)
        except ActionError as exc:  # what was not charged, for the step log and a backtest's money table
            exc.output = {**(exc.output or {}), **charge}
            raise
        if held is not None:
            held.details.update(charge)
        return held

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        key = self.operation_key(context)
        try:
            result = get_gateway().retry_payment(context.entity_id("invoice"), payment_method=self._method(config),
                                                 idempotency_key=key)
        except GatewayError:
            card_retries.release(key)  # the card was not charged: the reservation does not count
            raise
        card_retries.settle(key, result)
        if result.get("status") != "succeeded":
            raise _declined(result)
        return result

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        result = get_gateway().find_operation(self.operation_key(context))
        if result is not None:
            card_retries.settle(self.operation_key(context), result)
            if result.get("status") != "succeeded":
                raise _declined(result)  # the attempt was made and declined: not made again
        return result

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        method = config.get("payment_method", "default")
        invoice_id = context.entity_id("invoice")
        would = {"would_call_gateway": {"operation": "retry_payment", "invoice_id": invoice_id,
                                        "payment_method": method}}
        try:
            predicted = get_gateway().predict_retry_payment(
                invoice_id, payment_method=self._method(config),
                invoice=_entity(context, "invoice"), customer=_entity(context, "customer"))
        except GatewayError as exc:
            raise step_error(exc) from exc
        if predicted is None:  # the operator chooses the outcome in the test's scenario
            return self._charged(config, context, {
                **self._paid(context), **would,
                "assumed": "the billing system cannot say how this payment would go: assumed to pay"})
        return self._charged(config, context, {**predicted, **would})

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
            return self._charged(config, context, paid)
        decline = processor.charge(self.SCRIPTED_CARDS[outcome], ZERO, "").decline
        return self._charged(config, context, {
            **paid, "status": "failed", "decline_code": decline.code, "decline": decline.as_record(),
            "decline_message": f"declined ({decline.code}), as the test scenario says"})

    def _charged(self, config: dict[str, Any], context: ActionContext, result: dict[str, Any]) -> dict[str, Any]:
        """A test's charge answered ``result``: counted for the test's later charges of the card as
        a worker's run counts it in the ledger, then given or raised as ``call`` would."""
        card = self._card(config, context) if context.rehearsal is not None else None
        if card is not None:
            decline = Decline.from_record(result.get("decline")) if result.get("status") != "succeeded" else None
            context.rehearsal.setdefault("card_charges", []).append(card_retries.RehearsedCharge(
                card.fingerprint, _decimal(result.get("amount")), context.now,
                decline.category if decline else "", decline.code if decline else "",
                context.now + timedelta(seconds=decline.retry_after) if decline and decline.retry_after else None))
        if result.get("status") != "succeeded":
            raise _declined(result)
        return result

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
