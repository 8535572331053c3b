"""Pages customers reach from the links emails carry, for the host to include:
``path("billing/", include("billing_events.urls"))`` serves the "update your card" link at
``/billing/card/<token>/`` (``billing_events.card_links``)."""
from django.urls import path

from billing_events.card_links import update_card

app_name = "billing_events"
urlpatterns = [
    path("card/<str:token>/", update_card, name="card_update"),
]
