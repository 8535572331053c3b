"""The Stripe webhook's URL, for the host to include: ``path("stripe/", include("billing_events.stripe.urls"))``
makes it ``/stripe/webhook/``, the address to give Stripe."""
from django.urls import path

from billing_events.stripe.webhooks import stripe_webhook

app_name = "billing_events_stripe"
urlpatterns = [
    path("webhook/", stripe_webhook, name="webhook"),
]
