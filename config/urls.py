"""URLs of the demo project: the admin at /admin/, the REST API at /api/ (docs at /api/docs/)."""
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("automations.api.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Browsers ask for it on every page; an empty answer keeps their consoles free of 404s.
    path("favicon.ico", lambda request: HttpResponse(status=204)),
]
