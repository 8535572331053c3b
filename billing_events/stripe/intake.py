"""One Stripe event, already verified, into the catalogue: mapped, and each catalogue event emitted
once under its id; a type that maps to nothing is counted in ``SkippedStripeEvent``. Both ways
Stripe's events arrive go through here: the connector's own webhook endpoint, and dj-stripe's
(``billing_events.stripe.from_djstripe``)."""
from __future__ import annotations

from typing import Any

from billing_events.emitting import emit
from billing_events.errors import Refused
from billing_events.models import Event, SkippedStripeEvent
from billing_events.stripe.mapping import map_event


def stripe_event_from(body: Any) -> dict[str, Any]:
    """``body`` (a decoded JSON value) as a Stripe event; :class:`Refused` naming the field that is
    not one."""
    if not isinstance(body, dict):
        raise Refused("must be a JSON object (a Stripe event)", field="body")
    for name, kind in (("id", str), ("type", str), ("created", int)):
        if not isinstance(body.get(name), kind) or isinstance(body.get(name), bool) or body.get(name) == "":
            raise Refused(f"is missing or not a {'string' if kind is str else 'number'}", field=name)
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise Refused("must be an object", field="data.object")
    return body


def take_stripe_event(stripe_event: dict[str, Any]) -> list[Event]:
    """The catalogue events ``stripe_event`` became, in the mapping's order (empty when its type maps
    to nothing); each is ``created`` only the first time it is taken. :class:`Refused` when a mapped
    object is not shaped as Stripe's."""
    try:
        mapped = map_event(stripe_event)
        if not mapped:
            SkippedStripeEvent.count_delivery(stripe_event["type"], stripe_event["id"])
            return []
        # One at a time, each stored once: a failure after the first is retried by Stripe, and the
        # first is then a repeat.
        return [emit(one.type, one.data, id=one.id, occurred_at=one.occurred_at) for one in mapped]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # an object not shaped as Stripe's
        raise Refused(f"is not shaped as a Stripe {stripe_event['type']} object: {exc!r}",
                      field="data.object") from exc
