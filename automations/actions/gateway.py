"""Actions that are one billing-gateway operation each."""
from __future__ import annotations

from typing import Any

from automations.actions.base import Action, ActionContext, ActionError
from billing_events.gateway import get_gateway
from billing_events.gateway.base import GatewayError


def step_error(exc: GatewayError) -> ActionError:
    """A gateway's error as its step's failure: retried when the gateway says it may pass."""
    return ActionError(str(exc), retryable=exc.retryable, output={"code": exc.code})


class GatewayAction(Action):
    """Runs one gateway operation; a gateway error becomes a step error (retryable if it says so),
    and an attempt cut short by a crash is settled by asking the gateway for its idempotency key."""

    #: With a gateway that shares the apps' database it runs in its step's transaction: its
    #: operation's writes, the step's log row and the cursor move commit together, exactly once.
    #: The operation keeps what a failure leaves on purpose (a decline's failed payment and its
    #: record under the key, committed with the failed step) and rolls back the rest itself.
    local_when_shared: bool = False
    changes_billing_data = True

    def is_local(self) -> bool:
        return self.local_when_shared and get_gateway().shares_database

    def operation_key(self, context: ActionContext) -> str:
        """The idempotency key the gateway acts once for: the step's, the same for every attempt."""
        return context.idempotency_key

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """Perform the gateway operation and return its result."""
        raise NotImplementedError(".call() must be overridden.")

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        try:
            return self.call(config, context)
        except GatewayError as exc:
            raise step_error(exc) from exc

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        return get_gateway().find_operation(self.operation_key(context))
