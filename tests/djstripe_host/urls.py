"""The demo's URLs with dj-stripe's webhook included as its documentation says."""
from django.urls import include, path

from config.urls import urlpatterns as demo_urlpatterns

urlpatterns = [path("djstripe/", include("djstripe.urls", namespace="djstripe")), *demo_urlpatterns]
