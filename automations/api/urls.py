"""URLs of the API; a host includes them where it likes (the demo: ``/api/``)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from automations.api import views

# SimpleRouter: no browsable root view and no format-suffix URLs, which would use DRF's defaults.
router = SimpleRouter()
router.register("automations", views.AutomationViewSet, basename="automation")
router.register("executions", views.ExecutionViewSet, basename="execution")
router.register("events", views.EventViewSet, basename="event")

app_name = "automations_api"
urlpatterns = [
    path("event-types/", views.EventTypesView.as_view(), name="event-types"),
    path("actions/", views.ActionsView.as_view(), name="actions"),
    path("templates/", views.TemplatesView.as_view(), name="templates"),
    path("templates/<str:key>/instantiate/", views.InstantiateTemplateView.as_view(), name="template-instantiate"),
    # schema=None keeps these out of the schema they serve, whatever the host's DEFAULT_SCHEMA_CLASS.
    path("schema/", SpectacularAPIView.as_view(schema=None), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="automations_api:schema", schema=None), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="automations_api:schema", schema=None), name="redoc"),
    path("", include(router.urls)),
]
