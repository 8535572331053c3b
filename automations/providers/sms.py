"""SMS providers: a console provider (the default) and an HTTP provider for Twilio-style APIs."""
from __future__ import annotations

import logging
from typing import Any, ClassVar

from automations import outbound
from automations.actions.base import ActionError
from automations.conf import app_settings

logger = logging.getLogger("automations")


class SMSProvider:
    """Base class: ``send()`` delivers one text message and returns what the provider said."""

    name: ClassVar[str] = ""

    def send(self, to: str, body: str, *, idempotency_key: str) -> dict[str, Any]:
        raise NotImplementedError(".send() must be overridden.")


class ConsoleSMSProvider(SMSProvider):
    """Writes messages to the log and keeps them in ``outbox`` (for development and tests)."""

    name = "console"
    outbox: ClassVar[list[dict[str, str]]] = []

    def send(self, to: str, body: str, *, idempotency_key: str) -> dict[str, Any]:
        message = {"to": to, "body": body, "id": idempotency_key}
        ConsoleSMSProvider.outbox.append(message)
        logger.info("SMS to %s: %s", to, body)
        return {"provider": self.name, "to": to, "status": "logged"}


class HTTPSMSProvider(SMSProvider):
    """Posts to a Twilio-style Messages API: form fields To/From/Body, HTTP basic auth with the
    account SID and auth token, the idempotency key in ``I-Twilio-Idempotency-Token``."""

    name = "http"

    def __init__(self) -> None:
        options = app_settings.SMS_OPTIONS
        missing = [key for key in ("account_sid", "auth_token", "from_number") if not options.get(key)]
        if missing:
            raise ActionError(f"AUTOMATIONS['SMS_OPTIONS'] lacks {', '.join(missing)}")
        self.sid, self.token, self.sender = options["account_sid"], options["auth_token"], options["from_number"]
        self.base_url = options.get("base_url", "https://api.twilio.com").rstrip("/")

    def send(self, to: str, body: str, *, idempotency_key: str) -> dict[str, Any]:
        response = outbound.request(
            "POST", f"{self.base_url}/2010-04-01/Accounts/{self.sid}/Messages.json",
            data={"To": to, "From": self.sender, "Body": body}, auth=(self.sid, self.token),
            headers={"I-Twilio-Idempotency-Token": idempotency_key},
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return {"provider": self.name, "to": to, "sid": answer.get("sid"), "status": answer.get("status")}
