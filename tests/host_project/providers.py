"""The host's SMS provider and its own action type."""
from __future__ import annotations

from typing import Any, ClassVar

from automations.actions import Action, ActionContext
from automations.providers.sms import SMSProvider
from tests.host_project.models import Account


class HostSMSProvider(SMSProvider):
    name = "host"
    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, to: str, body: str, *, idempotency_key: str) -> dict[str, Any]:
        HostSMSProvider.sent.append((to, body))
        return {"provider": self.name, "to": to, "status": "sent"}


class FlagForCollections(Action):
    """The host's own action: flags the account for its collections agency."""

    key = "flag_for_collections"
    family = "records"
    config_schema = {"type": "object", "properties": {"reason": {"type": "string"}}, "additionalProperties": False}

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        code = context.variables["customer"]["id"]
        Account.objects.filter(code=code).update(collections_flag=True)
        return {"flagged": code, "reason": config.get("reason", "")}
