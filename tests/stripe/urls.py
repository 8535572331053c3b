"""The demo's URLs with the Stripe webhook included as a host would include it."""
from django.urls import include, path

from config.urls import urlpatterns as demo_urlpatterns

urlpatterns = [path("stripe/", include("billing_events.stripe.urls")), *demo_urlpatterns]
