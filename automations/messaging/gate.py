"""Whether a message may go now. The one place the engine (worker runs and test mode) asks.

Order: the send window first; when it is open, the frequency caps. A message outside its window
waits until the window opens; a capped message is skipped, or waits until it fits under the cap
and, if that moment is outside the window, until the window opens after it. When the run wakes,
both are checked again, window first, so a message never goes out of its window or over a cap.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from automations.actions import Action, ActionContext
from automations.holds import Held
from automations.messaging import ledger
from automations.messaging.caps import Cap, Capped, caps_for, check
from automations.messaging.windows import SendWindow, window_zone
from automations.conf import app_settings

SEND_WINDOW, FREQUENCY_CAP = "send_window", "frequency_cap"


def _when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    utc = f"{moment.astimezone(ZoneInfo('UTC')):%H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M} {zone.key}" + ("" if zone.key == "UTC" else f" ({utc})")


class Gate:
    """The window and caps of one message step in one run."""

    def __init__(self, action: Action, config: dict[str, Any], context: ActionContext,
                 definition: dict[str, Any]) -> None:
        customer = context.variables.get("customer")
        self.channel = action.channel
        self.customer_id = str(customer.get("id") or "") if isinstance(customer, dict) else ""
        self.zone = window_zone(customer, definition)
        self.window = SendWindow.from_config(config["send_window"]) if config.get("send_window") else None
        self.caps: Sequence[Cap] = caps_for(definition, app_settings.FREQUENCY_CAPS) if self.customer_id else ()
        self.key = context.idempotency_key

    def closed(self, now: datetime) -> Held | None:
        """Held until the window opens, when it is shut at ``now``."""
        if self.window is None or self.window.is_open(now, self.zone):
            return None
        opens = self.window.next_open(now, self.zone)
        return Held(SEND_WINDOW, opens, f"waited for the send window until {_when(opens, self.zone)}",
                    {"window": self.window.describe(), "timezone": self.zone.key})

    def capped(self, capped: Capped) -> Held:
        details = {"cap": capped.cap.text, "sent_in_period": capped.sent}
        if capped.skip:
            return Held(FREQUENCY_CAP, None, f"capped: skipped ({capped.reason()})", details)
        until = capped.until
        if self.window is not None:
            until = self.window.next_open(until, self.zone)  # the cap frees it outside the window
        return Held(FREQUENCY_CAP, until, f"capped: delayed until {_when(until, self.zone)} ({capped.reason()})",
                    details)

    def admit(self, now: datetime, automation_id: int | None) -> Held | None:
        """None when the message may go now (reserved in the ledger), else why it is held."""
        held = self.closed(now)
        if held is not None or not self.customer_id:
            return held
        capped = ledger.reserve(customer_id=self.customer_id, channel=self.channel, key=self.key, caps=self.caps,
                                now=now, automation_id=automation_id)
        return self.capped(capped) if capped else None

    def preview(self, now: datetime, virtual: list[tuple[str, str, datetime]]) -> Held | None:
        """Like ``admit`` without writing: the ledger as it stands plus ``virtual`` messages
        (customer, channel, time) the test run has sent so far."""
        held = self.closed(now)
        if held is not None or not self.customer_id or not self.caps:
            return held
        sent = ledger.sent_to(self.customer_id, now, self.caps)
        sent += [(channel, at) for customer, channel, at in virtual if customer == self.customer_id]
        capped = check(self.caps, self.channel, sent, now)
        return self.capped(capped) if capped else None


def admit(action: Action | None, config: dict[str, Any], context: ActionContext, definition: dict[str, Any],
          now: datetime, automation_id: int | None) -> Held | None:
    """For a worker's run: None when the step may be performed now (its message reserved)."""
    if action is None or not action.channel:
        return None
    return Gate(action, config, context, definition).admit(now, automation_id)


def send(action: Action, config: dict[str, Any], context: ActionContext) -> Any:
    """``action.run()``; a message's reservation is confirmed when it went and given back when the
    send failed. (django-q2's task timeout is a SystemExit, not caught here: a timed-out attempt
    may have gone, so it keeps counting.)"""
    if not action.channel:
        return action.run(config, context)
    try:
        output = action.run(config, context)
    except Exception:
        ledger.release(context.idempotency_key)
        raise
    ledger.confirm(context.idempotency_key)
    return output
