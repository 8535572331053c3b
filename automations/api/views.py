"""API views: thin wrappers over ``automations.services`` and ``billing_events.emit``."""
from __future__ import annotations

import copy
from datetime import timezone as dt_timezone
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from automations import library, previews, services
from automations.definition import validate_definition
from automations.definition.references import check_references
from automations.revisions import list_revisions, revision_definition
from automations.actions import registry
from automations.api import serializers as s
from automations.api.permissions import ChangeOperation, EventPermissions, ReadOnlyOperation
from automations.models import Automation, EmailTemplate, Execution
from billing_events import emit
from billing_events.catalogue import EVENT_TYPES
from billing_events.errors import InvalidInput
from billing_events.models import Event


class NoNulInQuery:
    """Refuses a query string with NUL characters (the database cannot compare them) with a 400."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        for name, value in request.query_params.items():
            if "\x00" in name or "\x00" in value:
                raise InvalidInput("query parameters must not contain NUL characters", field=name.replace("\x00", ""))
        if "\x00" in request.path:
            raise InvalidInput("the path must not contain NUL characters", field="path")


def _object(data: Any, field: str = "body") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field=field)
    return data


def _paginated(view: APIView, request: Request, items: list[dict[str, Any]]) -> Response:
    """Catalogues are lists too: paginated like every other list."""
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(page)


def _require(request: Request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"you need the {permission} permission")


class AutomationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=[("draft", "draft"), ("active", "active"), ("paused", "paused")],
                                  method="filter_status")
    trigger_type = filters.CharFilter()
    event = filters.CharFilter(field_name="trigger_event")

    class Meta:
        model = Automation
        fields = ["status", "trigger_type", "event"]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "draft":
            return queryset.filter(active_version__isnull=True)
        return queryset.filter(active_version__isnull=False, is_paused=value == "paused")


DEFINITION = {"type": "object", "description": "The canonical definition JSON (SPEC section 2)."}


class AutomationViewSet(NoNulInQuery, viewsets.ModelViewSet):
    """Automations, edited through their canonical definition JSON."""

    queryset = Automation.objects.select_related("active_version").order_by("pk")
    filterset_class = AutomationFilter
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_serializer_class(self):
        return s.AutomationListSerializer if self.action == "list" else s.AutomationSerializer

    @extend_schema(request={"application/json": DEFINITION}, responses={201: s.AutomationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = services.create_automation(_object(request.data), user=request.user)
        return Response(s.AutomationSerializer(automation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"application/json": DEFINITION}, responses=s.AutomationSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = self.get_object()
        body = copy.deepcopy(_object(request.data))
        current = services.current_definition(automation) or {}
        if kwargs.get("partial"):
            # PATCH: the given top-level fields replace the current draft's (or active version's).
            body = {**current, **body}
        services.update_draft(automation, s.unmask_definition(body, current), user=request.user)
        automation.refresh_from_db()
        return Response(s.AutomationSerializer(automation).data)

    @extend_schema(request={"application/json": DEFINITION}, responses=s.AutomationSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance: Automation) -> None:
        services.delete_automation(instance)

    @extend_schema(request=None, responses=s.AutomationSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        services.activate(automation, user=request.user)
        return Response(s.AutomationSerializer(automation).data)

    @extend_schema(request=None, responses=s.AutomationSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        services.pause(automation)
        return Response(s.AutomationSerializer(automation).data)

    @extend_schema(request=None, responses=s.AutomationSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        services.resume(automation)
        return Response(s.AutomationSerializer(automation).data)

    @extend_schema(responses=s.VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        page = self.paginate_queryset(automation.versions.select_related("created_by").order_by("-number"))
        return self.get_paginated_response(s.VersionSerializer(page, many=True).data)

    @extend_schema(responses=s.VersionDetailSerializer,
                   parameters=[OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        automation = self.get_object()
        version = get_object_or_404(automation.versions, number=int(number))
        return Response(s.VersionDetailSerializer(version).data)

    @extend_schema(request=None, responses=s.AutomationSerializer,
                   parameters=[OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/restore")
    def restore(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        automation = self.get_object()
        get_object_or_404(automation.versions, number=int(number))
        services.restore_version(automation, int(number), user=request.user)
        automation.refresh_from_db()
        return Response(s.AutomationSerializer(automation).data)

    def _on_screen(self, request: Request, automation: Automation | None) -> dict[str, Any] | None:
        """The ``definition`` of the body, with masked secrets taken from the stored definition."""
        definition = request.data.get("definition") if isinstance(request.data, dict) else None
        if definition is None:
            return None
        definition = copy.deepcopy(_object(definition, "definition"))
        current = services.current_definition(automation) if automation else None
        return s.unmask_definition(definition, current)

    @extend_schema(request=s.TestInSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], permission_classes=[ReadOnlyOperation])
    def test(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        return self._test(request, automation)

    @extend_schema(request=s.TestInSerializer, responses=OpenApiTypes.OBJECT, operation_id="automations_test_unsaved")
    @action(detail=False, methods=["post"], url_path="test", permission_classes=[ReadOnlyOperation])
    def test_unsaved(self, request: Request) -> Response:
        """Test mode on a definition that has not been saved yet (the builder's new automation)."""
        return self._test(request, None)

    def _test(self, request: Request, automation: Automation | None) -> Response:
        serializer = s.TestInSerializer(data=_object(request.data or {}))
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        return Response(services.test_run(automation, values.get("data"), version=values.get("version"),
                                          definition=self._on_screen(request, automation),
                                          billing_data=values["billing_data"]))

    @extend_schema(request={"application/json": DEFINITION}, responses=s.ValidationResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=[ReadOnlyOperation])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        """Validate a definition without saving it: the builder's problems list."""
        automation = self.get_object()
        current = services.current_definition(automation)
        return self._validate(s.unmask_definition(copy.deepcopy(_object(request.data)), current))

    @extend_schema(request={"application/json": DEFINITION}, responses=s.ValidationResultSerializer,
                   operation_id="automations_validate_unsaved")
    @action(detail=False, methods=["post"], url_path="validate", permission_classes=[ReadOnlyOperation])
    def validate_unsaved(self, request: Request) -> Response:
        return self._validate(_object(request.data))

    @staticmethod
    def _validate(definition: dict[str, Any]) -> Response:
        try:
            canonical = validate_definition(definition)
        except InvalidInput as exc:
            _, warnings = check_references(definition)
            return Response({"valid": False, "errors": exc.errors, "warnings": warnings, "definition": None})
        _, warnings = check_references(canonical)
        return Response({"valid": True, "errors": [], "warnings": warnings, "definition": s.mask_definition(canonical)})

    @extend_schema(responses=s.RevisionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def revisions(self, request: Request, pk: str | None = None) -> Response:
        """Every save of the draft (and each activation), newest first, with a diff against the one before."""
        automation = self.get_object()
        page = self.paginate_queryset(list_revisions(automation))
        return self.get_paginated_response(s.RevisionSerializer(page, many=True).data)

    @extend_schema(request=None, responses=s.AutomationSerializer,
                   parameters=[OpenApiParameter("revision", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"], url_path=r"revisions/(?P<revision>[0-9]+)/restore",
            permission_classes=[ChangeOperation])
    def restore_revision(self, request: Request, pk: str | None = None, revision: str = "") -> Response:
        automation = self.get_object()
        current = services.current_definition(automation)
        definition = s.unmask_definition(copy.deepcopy(revision_definition(automation, int(revision))), current)
        services.update_draft(automation, definition, user=request.user)
        automation.refresh_from_db()
        return Response(s.AutomationSerializer(automation).data)

    @extend_schema(request=s.DataInSerializer, responses={201: s.ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        _require(request, "automations.add_execution")
        data = _object(request.data or {}).get("data", {})
        execution = services.run_manual(automation, _object(data, "data"), user=request.user)
        if execution is None:
            raise InvalidInput("not started: the automation's reentry rule allows no new run for this data",
                               field="data")
        return Response(s.ExecutionDetailSerializer(execution).data, status=status.HTTP_201_CREATED)


class UTCDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time compared in UTC (PostgreSQL refuses offsets beyond ±15:59)."""

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value is not None:
            try:
                value = value.astimezone(dt_timezone.utc)
            except (OverflowError, ValueError) as exc:
                raise InvalidInput(f"{value!r} is out of range", field=self.field_name) from exc
        return super().filter(qs, value)


class ExecutionFilter(filters.FilterSet):
    started_after = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UTCDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Execution
        fields = ["automation", "status", "started_after", "started_before"]


class ExecutionViewSet(NoNulInQuery, viewsets.ReadOnlyModelViewSet):
    """Executions with their step log; cancel a live one, retry a failed one."""

    queryset = Execution.objects.select_related("automation", "version").order_by("-started_at", "-pk")
    filterset_class = ExecutionFilter

    def get_serializer_class(self):
        return s.ExecutionDetailSerializer if self.action != "list" else s.ExecutionSerializer

    @extend_schema(request=None, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        _require(request, "automations.change_execution")
        if not services.cancel_execution(execution, f"canceled through the API by {request.user.get_username()}"):
            raise InvalidInput(f"the execution has already ended ({execution.status})", field="status")
        return Response(s.ExecutionDetailSerializer(execution).data)

    @extend_schema(request=None, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        _require(request, "automations.change_execution")
        execution = services.retry_execution(execution)
        return Response(s.ExecutionDetailSerializer(execution).data)


class EventViewSet(NoNulInQuery, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    """The event inbox. Sending an event is idempotent by its id: 201 the first time, then 200."""

    queryset = Event.objects.order_by("-received_at")
    permission_classes = [EventPermissions]
    filterset_fields = ["type"]
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        if self.action == "create":
            return s.EventInSerializer
        return s.EventDetailSerializer if self.action == "retrieve" else s.EventSerializer

    @extend_schema(request=s.EventInSerializer, responses={201: s.EventSerializer, 200: s.EventSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        envelope = s.EventInSerializer(data=_object(request.data))
        envelope.is_valid(raise_exception=True)
        values = envelope.validated_data
        event = emit(values["type"], values["data"], id=values.get("id"), occurred_at=values.get("occurred_at"))
        return Response(s.EventSerializer(event).data,
                        status=status.HTTP_201_CREATED if event.created else status.HTTP_200_OK)


class EventTypesView(APIView):
    """The event catalogue: every type with its description, payload schema and sample."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return _paginated(self, request, [
            {"type": name, "description": event_type.description, "schema": event_type.schema,
             "sample": event_type.sample_data()} for name, event_type in sorted(EVENT_TYPES.items())])


class ActionsView(APIView):
    """The action catalogue: every registered action with its config schema."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return _paginated(self, request, [
            {"action": action.key, "family": action.family, "label": action.label or action.key,
             "description": action.description, "config_schema": action.config_schema,
             "literal_fields": list(action.literal_fields), "secret_fields": list(action.secret_fields),
             "output_schema": action.output_schema}
            for action in registry.all()])


class TemplatesView(APIView):
    """The templates library."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        results = []
        for key in library.template_keys():
            template = library.get_template(key)
            results.append({"key": key, "title": template["title"], "description": template["description"],
                            "definition": template["definition"],
                            "email_templates": [t["key"] for t in template["email_templates"]]})
        return _paginated(self, request, results)


class InstantiateTemplateView(NoNulInQuery, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: s.AutomationSerializer})
    def post(self, request: Request, key: str) -> Response:
        _require(request, "automations.add_automation")
        if key not in library.template_keys():
            from django.http import Http404

            raise Http404(f"no template {key!r}")
        automation = library.instantiate(key, user=request.user)
        return Response(s.AutomationSerializer(automation).data, status=status.HTTP_201_CREATED)


class SchedulePreviewView(NoNulInQuery, APIView):
    """The next run times of a schedule, computed by the server (the builder's schedule editor)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.SchedulePreviewInSerializer, responses=s.SchedulePreviewSerializer)
    def post(self, request: Request) -> Response:
        _require(request, "automations.view_automation")
        body = _object(request.data)
        count = body.get("count", 5)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 50:
            raise InvalidInput("must be a whole number from 1 to 50", field="count")
        return Response({"next": previews.next_run_times(body.get("schedule"), count)})


class RenderPreviewView(NoNulInQuery, APIView):
    """Templates rendered on sample data, as a step would render them (the builder's email preview)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.RenderPreviewInSerializer, responses=s.RenderPreviewSerializer)
    def post(self, request: Request) -> Response:
        _require(request, "automations.view_automation")
        body = _object(request.data)
        templates = _object(body.get("templates"), "templates")
        data = _object(body.get("data", {}), "data")
        outputs = _object(body.get("outputs", {}), "outputs")
        return Response(previews.render_templates(templates, data, outputs))


class EmailTemplateViewSet(NoNulInQuery, viewsets.ModelViewSet):
    """Email templates by key: what send_email steps with a ``template`` send."""

    queryset = EmailTemplate.objects.order_by("key")
    serializer_class = s.EmailTemplateSerializer
    lookup_field = "key"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
