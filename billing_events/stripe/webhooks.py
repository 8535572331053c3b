"""The endpoint Stripe posts its events to: verified, mapped onto the catalogue, emitted once.

- The ``Stripe-Signature`` header is verified by the ``stripe`` library against each secret of
  ``BILLING_EVENTS["STRIPE_WEBHOOK_SECRETS"]`` (several while a secret is rotated), with Stripe's
  tolerance of five minutes on its timestamp. Without secrets the endpoint refuses everything.
- A mapped event is emitted under its Stripe id (``billing_events.stripe.mapping``), so however often
  and in whatever order Stripe redelivers it, it is stored and starts runs once; its time is the
  Stripe event's, so an older event never overwrites what a newer one mirrored.
- Anything else Stripe sends is answered 200 (Stripe would retry an error for days) and counted per
  type in ``SkippedStripeEvent``.
- A request that does not verify or is no Stripe event is answered 400 naming what was wrong, and
  nothing is stored.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing_events.conf import SETTING, app_settings
from billing_events.errors import Refused
from billing_events.models import Event
from billing_events.stripe.intake import stripe_event_from, take_stripe_event

logger = logging.getLogger("billing_events")

HEADER = "Stripe-Signature"
#: How old a signature's timestamp may be, in seconds: Stripe's default, against replayed requests.
TOLERANCE = 300


def webhook_secrets() -> list[str]:
    """The signing secrets configured (one string is taken as a list of one)."""
    secrets = app_settings.STRIPE_WEBHOOK_SECRETS or []
    return [secrets] if isinstance(secrets, str) else [secret for secret in secrets if secret]


def _refused(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def _verified(payload: str, header: str, secrets: list[str]) -> str | None:
    """None when the signature matches one of ``secrets`` within the tolerance; else why not."""
    import stripe  # the stripe extra; only this endpoint needs it

    reasons = []
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE)
            return None
        except stripe.SignatureVerificationError as exc:
            reasons.append(str(exc.user_message or exc))
    # Stripe checks the timestamp only once a signature matched: that reason is the telling one.
    return next((reason for reason in reasons if "tolerance" in reason), reasons[0])


def _stripe_event(payload: str) -> dict[str, Any]:
    """The verified body as a Stripe event; :class:`Refused` naming the field that is not one."""
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise Refused(f"the body is not JSON: {exc}", field="body") from exc
    return stripe_event_from(body)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Receive one Stripe event (see the module's docstring for the answers)."""
    secrets = webhook_secrets()
    if not secrets:
        return _refused(503, "", f"{SETTING}['STRIPE_WEBHOOK_SECRETS'] is empty: no Stripe event can be verified")
    header = request.headers.get(HEADER)
    if not header:
        return _refused(400, HEADER, "the header is missing: only Stripe's signed requests are accepted")
    try:
        payload = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return _refused(400, "body", "the body is not UTF-8 text")
    reason = _verified(payload, header, secrets)
    if reason is not None:
        return _refused(400, HEADER, f"the signature does not verify: {reason}")
    try:
        stripe_event = _stripe_event(payload)
        taken = take_stripe_event(stripe_event)
    except Refused as exc:
        logger.warning("Stripe event refused: %s", exc)
        return JsonResponse({"errors": exc.errors}, status=exc.status_code)
    if not taken:
        return JsonResponse({"id": stripe_event["id"], "event_type": None, "stored": False})
    event, *also = taken
    answer = _stored(event)
    if also:
        answer["also"] = [_stored(other) for other in also]
    return JsonResponse(answer)


def _stored(event: Event) -> dict[str, Any]:
    return {"id": event.id, "event_type": event.type, "stored": event.created}
