"""For hosts that already receive Stripe's webhooks with dj-stripe: the events come in through
dj-stripe's endpoint, with no second endpoint and no second verification.

dj-stripe verifies a delivery (its ``WebhookEndpoint``'s secret and tolerance, or however it is set
to validate), syncs its own models, and then sends ``djstripe.signals.webhook_post_process`` with the
delivery (a ``WebhookEventTrigger``) — still inside its transaction. This receiver takes the verified
event from there exactly as the connector's endpoint takes one, so a redelivery is stored once and a
refusal rolls dj-stripe's processing back with it: dj-stripe answers an error, records our reason on
the delivery (its ``exception`` field), and Stripe retries later.

Connected by the app's ``ready()`` when ``djstripe`` is an installed app; nothing to configure.
"""
from __future__ import annotations

import logging
from typing import Any

from billing_events.errors import Refused
from billing_events.stripe.intake import stripe_event_from, take_stripe_event

logger = logging.getLogger("billing_events")

DISPATCH_UID = "billing_events.stripe.from_djstripe"


def take_processed_delivery(sender: Any, instance: Any, **kwargs: Any) -> None:
    """The receiver of ``webhook_post_process``: ``instance`` is dj-stripe's verified delivery."""
    try:
        take_stripe_event(stripe_event_from(instance.json_body))
    except Refused as exc:
        logger.warning("Stripe event %s from dj-stripe refused: %s", instance.json_body.get("id", "?"), exc)
        # dj-stripe rolls its processing back and then saves the delivery with our reason: it must not
        # point at the event row being rolled back (a foreign key to nothing fails that save), nor
        # say it was processed.
        instance.event, instance.processed = None, False
        raise


def connect() -> None:
    """Listen to dj-stripe's processed deliveries (once, however often it is called)."""
    from djstripe import signals  # only when dj-stripe is installed

    signals.webhook_post_process.connect(take_processed_delivery, dispatch_uid=DISPATCH_UID)
