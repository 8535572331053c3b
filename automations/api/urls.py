"""URLs of the API; a host includes them where it likes (the demo: ``/api/``)."""
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from automations.api import views
from automations.api.schema import SCHEMA_SETTINGS

# SimpleRouter: no browsable root view and no format-suffix URLs, which would use DRF's defaults.
router = SimpleRouter()
router.register("automations", views.AutomationViewSet, basename="automation")
router.register("executions", views.ExecutionViewSet, basename="execution")
router.register("approvals", views.ApprovalViewSet, basename="approval")
router.register("events", views.EventViewSet, basename="event")
router.register("backtests", views.BacktestViewSet, basename="backtest")
router.register("secrets", views.SecretViewSet, basename="secret")
router.register("email-templates", views.EmailTemplateViewSet, basename="email-template")

app_name = "automations_api"
urlpatterns = [
    path("event-types/", views.EventTypesView.as_view(), name="event-types"),
    path("stripe-events/", views.StripeEventsView.as_view(), name="stripe-events"),
    path("actions/", views.ActionsView.as_view(), name="actions"),
    path("step-types/", views.StepTypesView.as_view(), name="step-types"),
    path("trigger-kinds/", views.TriggerKindsView.as_view(), name="trigger-kinds"),
    path("templates/", views.TemplatesView.as_view(), name="templates"),
    path("templates/<str:key>/instantiate/", views.InstantiateTemplateView.as_view(), name="template-instantiate"),
    # schema=None keeps these out of the schema they serve, whatever the host's DEFAULT_SCHEMA_CLASS.
    path("definition-schema/", views.DefinitionSchemaView.as_view(), name="definition-schema"),
    path("schedule-preview/", views.SchedulePreviewView.as_view(), name="schedule-preview"),
    path("render-preview/", views.RenderPreviewView.as_view(), name="render-preview"),
    path("send-preview-email/", views.SendPreviewEmailView.as_view(), name="send-preview-email"),
    path("schema/", SpectacularAPIView.as_view(custom_settings=SCHEMA_SETTINGS, schema=None,
                                               permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="automations_api:schema", schema=None), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="automations_api:schema", schema=None), name="redoc"),
    path("", include(router.urls)),
]
# Any other URL under the API's own names is a JSON 404 too (not the host's HTML page); other URLs
# stay the host's, wherever it includes these.
_names = sorted({prefix for prefix, _, _ in router.registry}
                | {str(pattern.pattern).split("/")[0] for pattern in urlpatterns[:-1]})
urlpatterns.append(re_path(rf"^(?:{'|'.join(_names)})(?:/[\s\S]*)?\Z", views.UnknownEndpointView.as_view(schema=None)))
