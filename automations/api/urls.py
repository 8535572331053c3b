"""URLs of the API; a host includes them where it likes (the demo: ``/api/``)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from automations.api import views

router = DefaultRouter()
router.register("automations", views.AutomationViewSet, basename="automation")
router.register("executions", views.ExecutionViewSet, basename="execution")
router.register("events", views.EventViewSet, basename="event")
router.register("email-templates", views.EmailTemplateViewSet, basename="email-template")

app_name = "automations_api"
urlpatterns = [
    path("event-types/", views.EventTypesView.as_view(), name="event-types"),
    path("actions/", views.ActionsView.as_view(), name="actions"),
    path("templates/", views.TemplatesView.as_view(), name="templates"),
    path("schedule-preview/", views.SchedulePreviewView.as_view(), name="schedule-preview"),
    path("render-preview/", views.RenderPreviewView.as_view(), name="render-preview"),
    path("templates/<str:key>/instantiate/", views.InstantiateTemplateView.as_view(), name="template-instantiate"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="automations_api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="automations_api:schema"), name="redoc"),
    path("", include(router.urls)),
]
