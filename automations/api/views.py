"""API views: thin wrappers over ``automations.services`` and ``billing_events.emit``."""
from __future__ import annotations

import copy
import re
from datetime import timezone as dt_timezone
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import Resolver404, resolve
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from automations import approvals, library, previews, services
from automations.actions import registry
from automations.api import inputs
from automations.api import serializers as s
from automations.api.base import APIPolicy
from automations.api.permissions import ApprovalPermissions, EventPermissions, NamedPermissions
from automations.api.schema import DEFINITION, DEFINITION_PATCH, EVENT_ENVELOPE, document
from automations.conf import app_settings
from automations.definition import validate_definition
from automations.card_retries.policies import policy_warnings
from automations.outcomes.figures import figures
from automations.overlaps import same_event_warnings
from automations.template_use import problems_if_saved
from automations.definition import index
from automations.definition.json_schema import definition_schema, step_type_schemas, trigger_kind_schemas
from automations.definition.references import check_references
from automations.errors import StateConflict
from automations.models import ApprovalRequest, Automation, Backtest, EmailTemplate, Execution, ReferenceKind, Secret
from automations.revisions import list_revisions, revision_definition
from automations.secrets import mask_definition, unmask_definition
from automations.steps import step_types
from automations.trigger_kinds import ordered as ordered_trigger_kinds
from billing_events import emit
from billing_events.catalogue import EVENT_TYPES
from billing_events.errors import InvalidInput, Refused
from billing_events.models import Event
from billing_events.stripe.mapping import MAPPINGS as STRIPE_MAPPINGS
from django.http import Http404


def _object(data: Any, field: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field=field)
    return data


IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, pattern=r'^(W/)?"[1-9][0-9]{0,17}"$',
    description="The ETag of the automation as read: refused with a 412 if the draft was saved or activated since.")
ETAG = re.compile(r'(?:W/)?"([0-9]{1,19})"')


def _expected_revision(request: Request, body: dict[str, Any] | None = None) -> int | None:
    """The draft revision a write is based on: the body's ``revision`` (taken out of ``body``) or the
    ``If-Match`` header's ETag; None when neither names one (``If-Match: *`` names none)."""
    named = None
    if body is not None and "revision" in body:
        named = body.pop("revision")
        if named is not None and (isinstance(named, bool) or not isinstance(named, int) or not 0 < named < 2**63):
            raise InvalidInput("must be the automation's revision as read (a positive whole number)", field="revision")
    header = request.headers.get("If-Match", "").strip()
    if "If-Match" in request.headers and not header:
        raise InvalidInput('is empty: name the ETag a read of the automation gave, such as "42", or leave it out',
                           field="If-Match")
    if header and header != "*":
        match = ETAG.fullmatch(header)
        if match is None:
            raise InvalidInput('must be the ETag a read of the automation gave, such as "42"', field="If-Match")
        if named is not None and int(match.group(1)) != named:
            raise InvalidInput(f"names revision {named} but If-Match names {match.group(1)}", field="revision")
        named = int(match.group(1))
    return named


LIBRARY_TEMPLATE = OpenApiParameter(
    "template", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False, enum=library.template_keys(),
    description="The library template the definition was taken from, not saved yet: its email templates count "
                "as installed (nothing is written).")


def _library_template(request: Request) -> str | None:
    """The library template named by ``?template=`` (a 400 naming it when the library has none)."""
    key = request.query_params.get("template")
    if key is not None and key not in library.template_keys():
        raise InvalidInput(f"the library has no template {key!r}", field="template")
    return key


def _automation_response(automation: Automation, code: int = status.HTTP_200_OK) -> Response:
    """The automation with its draft revision as the ETag."""
    data = s.AutomationSerializer(automation).data
    response = Response(data, status=code)
    if data["revision"] is not None:
        response["ETag"] = f'"{data["revision"]}"'
    return response


def _on_screen(body: dict[str, Any], automation: Automation | None) -> dict[str, Any] | None:
    """The definition a test was sent (what the builder has on screen), its masked secrets the stored ones."""
    definition = body.get("definition")
    if definition is None:
        return None
    current = services.current_definition(automation) if automation else None
    return unmask_definition(copy.deepcopy(definition), current)


def _valid(serializer_class: type[inputs.StrictSerializer], request: Request) -> dict[str, Any]:
    """The request body validated by ``serializer_class`` (an empty body is an empty object)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class AutomationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=[("draft", "draft"), ("active", "active"), ("paused", "paused")],
                                  method="filter_status")
    trigger_type = filters.CharFilter()
    event = filters.CharFilter(field_name="trigger_event")
    calls = filters.CharFilter(
        method="filter_uses", max_length=300,
        help_text="Automations whose draft or active version calls this host (hooks.example.com), or this "
                  "origin or URL (https://hooks.example.com, https://hooks.example.com:8443): webhook, Slack, "
                  "SMS and CRM steps with a URL in their config.")
    uses_template = filters.CharFilter(
        method="filter_uses", max_length=100,
        help_text="Automations whose draft or active version sends the stored email template with this key.")
    uses_secret = filters.CharFilter(
        method="filter_uses", max_length=100,
        help_text="Automations whose draft or active version references the secret with this name "
                  "({{ secrets.NAME }}).")

    class Meta:
        model = Automation
        fields = ["status", "trigger_type", "event", "calls", "uses_template", "uses_secret"]

    USES = {"calls": ReferenceKind.ORIGIN, "uses_template": ReferenceKind.EMAIL_TEMPLATE,
            "uses_secret": ReferenceKind.SECRET}

    def filter_uses(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # one subquery on the index of the steps (StepReference), not a scan of the definitions
        return queryset.filter(pk__in=index.automation_ids_using(self.USES[name], value))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "draft":
            return queryset.filter(active_version__isnull=True)
        return queryset.filter(active_version__isnull=False, is_paused=value == "paused")


class AutomationViewSet(APIPolicy, viewsets.ModelViewSet):
    """Automations, edited through their canonical definition JSON."""
    queryset = Automation.objects.select_related("active_version").order_by("pk")
    filterset_class = AutomationFilter
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    # Activating, pausing, resuming and restoring change an automation; a manual run starts an execution.
    action_permissions = {
        "activate": ["automations.change_automation"],
        "pause": ["automations.change_automation"],
        "resume": ["automations.change_automation"],
        "restore": ["automations.change_automation"],
        "versions": ["automations.view_automation"],
        "version": ["automations.view_automation"],
        "test": ["automations.view_automation"],
        "test_unsaved": ["automations.view_automation"],
        "test_paths": ["automations.view_automation"],
        "test_paths_unsaved": ["automations.view_automation"],
        "backtest": ["automations.view_automation"],
        "validate": ["automations.view_automation"],
        "validate_unsaved": ["automations.view_automation"],
        "revisions": ["automations.view_automation"],
        "restore_revision": ["automations.change_automation"],
        "run": ["automations.view_automation", "automations.add_execution"],
    }

    def get_serializer_class(self):
        return s.AutomationListSerializer if self.action == "list" else s.AutomationSerializer

    @document(request={"application/json": DEFINITION}, responses={201: s.AutomationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        automation = services.create_automation(unmask_definition(_object(request.data), None), user=request.user)
        return _automation_response(automation, status.HTTP_201_CREATED)

    @document(responses=s.AutomationSerializer)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The automation; its ``ETag`` (and ``revision``) is the draft's revision, for If-Match."""
        return _automation_response(self.get_object())

    @document(request={"application/json": DEFINITION}, responses=s.AutomationSerializer, parameters=[IF_MATCH])
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Replace the draft. With ``If-Match`` (or a ``revision`` field), a 412 if the draft was saved since."""
        automation = self.get_object()
        body = copy.deepcopy(_object(request.data))
        revision = _expected_revision(request, body)
        current = services.current_definition(automation) or {}
        if kwargs.get("partial"):
            # PATCH: the given top-level fields replace the current draft's (or active version's).
            body = {**current, **body}
        services.update_draft(automation, unmask_definition(body, current), user=request.user, revision=revision)
        automation.refresh_from_db()
        return _automation_response(automation)

    @document(request={"application/json": DEFINITION_PATCH}, responses=s.AutomationSerializer,
              parameters=[IF_MATCH])
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Merge top-level fields into the draft. With ``If-Match`` (or ``revision``), a 412 if saved since."""
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance: Automation) -> None:
        services.delete_automation(instance)

    @document(request=inputs.ActivateIn, responses=s.AutomationSerializer, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Activate the draft; naming its revision (``revision`` or If-Match), a 412 if it was saved since."""
        automation = self.get_object()
        body = _valid(inputs.ActivateIn, request)
        services.activate(automation, user=request.user, revision=_expected_revision(request, body))
        return _automation_response(automation)

    @document(request=None, responses=s.AutomationSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        services.pause(automation)
        return Response(s.AutomationSerializer(automation).data)

    @document(request=None, responses=s.AutomationSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        services.resume(automation)
        return Response(s.AutomationSerializer(automation).data)

    @document(responses=s.VersionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        page = self.paginate_queryset(automation.versions.select_related("created_by").order_by("-number"))
        return self.get_paginated_response(s.VersionSerializer(page, many=True).data)

    @document(responses=s.VersionDetailSerializer,
                   parameters=[OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        automation = self.get_object()
        version = get_object_or_404(automation.versions, number=int(number))
        return Response(s.VersionDetailSerializer(version).data)

    @document(request=None, responses=s.AutomationSerializer,
              parameters=[OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH), IF_MATCH])
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/restore")
    def restore(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        automation = self.get_object()
        get_object_or_404(automation.versions, number=int(number))
        services.restore_version(automation, int(number), user=request.user, revision=_expected_revision(request))
        automation.refresh_from_db()
        return _automation_response(automation)

    @document(request=inputs.KeepVariantIn, responses=s.AutomationSerializer, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"], url_path="keep-variant")
    def keep_variant(self, request: Request, pk: str | None = None) -> Response:
        """An experiment decided: the draft with the split step replaced by the steps of the variant
        kept (made from the active version if there is no draft), to review and activate."""
        automation = self.get_object()
        body = _valid(inputs.KeepVariantIn, request)
        services.keep_variant(automation, body["step"], body["variant"], user=request.user,
                              revision=_expected_revision(request))
        automation.refresh_from_db()
        return _automation_response(automation)

    @document(request=inputs.TestIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        return self._test(request, self.get_object())

    @document(request=inputs.TestUnsavedIn, responses=OpenApiTypes.OBJECT, operation_id="automations_test_unsaved",
              parameters=[LIBRARY_TEMPLATE])
    @action(detail=False, methods=["post"], url_path="test")
    def test_unsaved(self, request: Request) -> Response:
        """Test mode on a definition that has not been saved yet (the builder's new automation)."""
        with library.email_templates_lent(_library_template(request)):
            return self._test(request, None)

    @document(request=inputs.TestPathsIn, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="test-paths")
    def test_paths(self, request: Request, pk: str | None = None) -> Response:
        """Test every path: test mode over the scenarios that reach each way on (each branch's then
        and else, each action succeeding and failing, each wait's event and timeout, each decision),
        each with its ending and messages, and the ways no scenario reaches."""
        return self._test_paths(request, self.get_object())

    @document(request=inputs.TestPathsUnsavedIn, responses=OpenApiTypes.OBJECT,
              operation_id="automations_test_paths_unsaved", parameters=[LIBRARY_TEMPLATE])
    @action(detail=False, methods=["post"], url_path="test-paths")
    def test_paths_unsaved(self, request: Request) -> Response:
        """Test every path of a definition that has not been saved yet."""
        with library.email_templates_lent(_library_template(request)):
            return self._test_paths(request, None)

    def _test_paths(self, request: Request, automation: Automation | None) -> Response:
        body = _valid(inputs.TestPathsIn if automation else inputs.TestPathsUnsavedIn, request)
        return Response(services.test_every_path(automation, body.get("data"), version=body.get("version"),
                                                 definition=_on_screen(body, automation),
                                                 billing_data=body["billing_data"]))

    def _test(self, request: Request, automation: Automation | None) -> Response:
        body = _valid(inputs.TestIn if automation else inputs.TestUnsavedIn, request)
        definition = _on_screen(body, automation)
        return Response(services.test_run(automation, body.get("data"), version=body.get("version"),
                                          definition=definition, billing_data=body["billing_data"],
                                          events=body.get("events"), decisions=body.get("decisions"),
                                          decision=body["decision"], outcomes=body.get("outcomes"),
                                          variants=body.get("variants")))

    @document(request=inputs.BacktestIn, responses={202: s.BacktestSerializer})
    @action(detail=True, methods=["post"])
    def backtest(self, request: Request, pk: str | None = None) -> Response:
        """Replay the draft (or a version) over the stored events of its trigger type in a period, as a
        task: 202 with the backtest, whose progress and result ``GET backtests/{id}/`` reads."""
        automation = self.get_object()
        body = _valid(inputs.BacktestIn, request)
        backtest = services.start_backtest(automation, body["from"], body["to"], version=body.get("version"),
                                           user=request.user)
        backtest.refresh_from_db()  # a worker may have started (or, in-process, finished) it already
        return Response(s.BacktestSerializer(backtest).data, status=status.HTTP_202_ACCEPTED)

    @document(request={"application/json": {"type": "object", "description": "A definition, valid or not."}},
              responses=s.ValidationResultSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        """Validate a definition without saving it: the builder's problems list."""
        automation = self.get_object()
        definition = copy.deepcopy(_object(request.data))
        return self._validate(unmask_definition(definition, services.current_definition(automation)), automation.pk)

    @document(request={"application/json": {"type": "object", "description": "A definition, valid or not."}},
              responses=s.ValidationResultSerializer, operation_id="automations_validate_unsaved",
              parameters=[LIBRARY_TEMPLATE])
    @action(detail=False, methods=["post"], url_path="validate")
    def validate_unsaved(self, request: Request) -> Response:
        with library.email_templates_lent(_library_template(request)):
            return self._validate(_object(request.data))

    @staticmethod
    def _validate(definition: dict[str, Any], automation_id: int | None = None) -> Response:
        overlaps = [*same_event_warnings(definition, automation_id), *policy_warnings(definition)]
        try:
            canonical = validate_definition(definition)
        except Refused as exc:
            # the fields a half-made definition names are checked too, so the builder shows every problem at once
            references, warnings = check_references(definition)
            errors = [*exc.errors, *(error for error in references if error not in exc.errors)]
            return Response({"valid": False, "errors": errors, "warnings": [*warnings, *overlaps], "definition": None})
        _, warnings = check_references(canonical)
        return Response({"valid": True, "errors": [], "warnings": [*warnings, *overlaps],
                         "definition": mask_definition(canonical)})

    @document(parameters=[inputs.StatsIn], responses=s.StatsSerializer, filters=False)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str | None = None) -> Response:
        """How the automation does over a period: runs started and how they ended, conversion to the
        goal (the run ended by its exit_on event), and per step how many reached it, succeeded, failed
        and wait there now, with a daily series. Read from tallies kept as runs move."""
        automation = self.get_object()
        query = inputs.StatsIn(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        period = query.validated_data
        if "version" in period and not automation.versions.filter(number=period["version"]).exists():
            raise StateConflict(f"automation {automation.pk} has no version {period['version']}", field="version")
        return Response(s.StatsSerializer(figures(automation, start=period["from"], end=period["to"],
                                                  version=period.get("version"))).data)

    @document(responses=s.RevisionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"])
    def revisions(self, request: Request, pk: str | None = None) -> Response:
        """Every save of the draft (and each activation), newest first, with a diff against the one before."""
        automation = self.get_object()
        page = self.paginate_queryset(list_revisions(automation))
        return self.get_paginated_response(s.RevisionSerializer(page, many=True).data)

    @document(request=None, responses=s.AutomationSerializer,
              parameters=[OpenApiParameter("revision", OpenApiTypes.INT, OpenApiParameter.PATH), IF_MATCH])
    @action(detail=True, methods=["post"], url_path=r"revisions/(?P<revision>[0-9]+)/restore")
    def restore_revision(self, request: Request, pk: str | None = None, revision: str = "") -> Response:
        automation = self.get_object()
        try:
            revision_definition(automation, int(revision))
        except Refused as exc:
            raise NotFound(exc.errors[0]["message"]) from exc
        services.restore_revision(automation, int(revision), user=request.user,
                                  revision=_expected_revision(request))
        automation.refresh_from_db()
        return _automation_response(automation)

    @document(request=inputs.RunIn, responses={201: s.ExecutionDetailSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        data = _valid(inputs.RunIn, request).get("data", {})
        execution = services.run_manual(automation, data, user=request.user)
        if execution is None:
            raise StateConflict("not started: the automation's reentry rule allows no new run for this data",
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


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(filters.Filter):
    """An object's id; an unknown one matches nothing (rather than being an error)."""
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class ExecutionFilter(filters.FilterSet):
    automation = IdFilter(field_name="automation_id")
    started_after = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UTCDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Execution
        fields = ["automation", "status", "started_after", "started_before"]


class ExecutionViewSet(APIPolicy, viewsets.ReadOnlyModelViewSet):
    """Executions with their step log; cancel a live one, resume a waiting one now, retry a failed one."""
    queryset = Execution.objects.select_related("automation", "version").order_by("-started_at", "-pk")
    filterset_class = ExecutionFilter
    action_permissions = {"cancel": ["automations.change_execution"], "retry": ["automations.change_execution"],
                          "resume_now": ["automations.change_execution"]}

    def get_serializer_class(self):
        return s.ExecutionDetailSerializer if self.action != "list" else s.ExecutionSerializer

    @document(request=inputs.CancelIn, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a running or waiting execution, saying why: the ``reason`` is recorded with who did
        it and that it was done through the API. 409 for a run that has already ended."""
        execution = self.get_object()
        body = _valid(inputs.CancelIn, request)
        if not services.cancel_by(execution, request.user, where=services.THROUGH_THE_API, reason=body["reason"]):
            raise StateConflict(f"the execution has already ended ({execution.get_status_display().lower()})",
                                field="status")
        return Response(s.ExecutionDetailSerializer(execution).data)

    @document(request=None, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"], url_path="resume-now")
    def resume_now(self, request: Request, pk: str | None = None) -> Response:
        """End a waiting execution's pending wait now: the same run goes on from where it is (a
        delay is skipped, a failed step's next attempt runs now, a wait_for ends as if it timed
        out). 409 for a run that is not waiting, waits for an approval, or holds a message for its
        send window."""
        execution = services.resume_now(self.get_object(), request.user, where=services.THROUGH_THE_API)
        return Response(s.ExecutionDetailSerializer(execution).data)

    @document(request=None, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        execution = self.get_object()
        execution = services.retry_execution(execution)
        return Response(s.ExecutionDetailSerializer(execution).data)


class ApprovalFilter(filters.FilterSet):
    execution = IdFilter(field_name="execution_id")
    automation = IdFilter(field_name="execution__automation_id")

    class Meta:
        model = ApprovalRequest
        fields = ["status", "execution", "automation"]


class ApprovalViewSet(APIPolicy, viewsets.ReadOnlyModelViewSet):
    """Approval requests of runs waiting for a decision; approve or reject one with a comment."""

    queryset = (ApprovalRequest.objects.select_related("execution__automation", "decided_by")
                .order_by("-created_at", "-pk"))
    serializer_class = s.ApprovalRequestSerializer
    filterset_class = ApprovalFilter
    permission_classes = [ApprovalPermissions]

    def get_serializer_class(self):
        return s.ApprovalRequestSerializer if self.action == "list" else s.ApprovalRequestDetailSerializer

    @document(request=inputs.DecisionIn, responses=s.ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve: the run goes on with ``{"decision": "approved", "by", "comment"}``."""
        return self._decide(request, "approved")

    @document(request=inputs.DecisionIn, responses=s.ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject: the run goes on with ``{"decision": "rejected", "by", "comment"}``."""
        return self._decide(request, "rejected")

    def _decide(self, request: Request, decision: str) -> Response:
        body = _valid(inputs.DecisionIn, request)
        approval = approvals.decide(self.get_object(), request.user, decision, body["comment"])
        return Response(s.ApprovalRequestSerializer(approval).data)


class BacktestFilter(filters.FilterSet):
    automation = IdFilter(field_name="automation_id")

    class Meta:
        model = Backtest
        fields = ["automation"]


class BacktestViewSet(APIPolicy, viewsets.ReadOnlyModelViewSet):
    """Backtests with their progress and result; reading them needs what test mode needs."""

    queryset = Backtest.objects.select_related("created_by").order_by("-created_at", "-pk")
    serializer_class = s.BacktestSerializer
    filterset_class = BacktestFilter
    permission_classes = [NamedPermissions]
    required_permissions = ["automations.view_automation"]


class EventViewSet(APIPolicy, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    """The event inbox. Sending an event is idempotent by its id: 201 the first time, 200 when the same
    body comes again, 409 when the id comes with a different body (an id names one event)."""
    queryset = Event.objects.order_by("-received_at")
    permission_classes = [EventPermissions]
    filterset_fields = ["type"]
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        if self.action == "create":
            return inputs.EventIn
        return s.EventDetailSerializer if self.action == "retrieve" else s.EventSerializer

    @document(request={"application/json": EVENT_ENVELOPE},
              responses={201: s.EventSerializer, 200: s.EventSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        values = _valid(inputs.EventIn, request)
        event = Event.objects.filter(pk=values["id"]).first() if values.get("id") else None
        if event is None:
            event = emit(values["type"], values["data"], id=values.get("id"), occurred_at=values.get("occurred_at"))
        if getattr(event, "created", False):
            return Response(s.EventSerializer(event).data, status=status.HTTP_201_CREATED)
        if (event.type, event.data) != (values["type"], values["data"]) or (
                values.get("occurred_at") not in (None, event.occurred_at)):
            raise StateConflict(f"event {event.pk!r} was already received with a different body; an event id names "
                                f"one event, so send a changed event under a new id", field="id")
        return Response(s.EventSerializer(event).data, status=status.HTTP_200_OK)


class SecretViewSet(APIPolicy, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Named secrets, referenced from steps as ``{{ secrets.NAME }}``: values are written, never read back."""
    queryset = Secret.objects.select_related("created_by", "updated_by").order_by("name")
    serializer_class = s.SecretSerializer
    lookup_field = "name"
    lookup_value_regex = "[A-Za-z_][A-Za-z0-9_]*"
    filter_backends: list[type] = []

    @document(request=inputs.SecretIn, responses={201: s.SecretSerializer})
    def create(self, request: Request) -> Response:
        values = _valid(inputs.SecretIn, request)
        if values["name"] in app_settings.SECRETS or Secret.objects.filter(name=values["name"]).exists():
            raise StateConflict(f"a secret named {values['name']!r} already exists", field="name")
        secret = Secret(name=values["name"], description=values.get("description", ""), created_by=_user(request),
                        updated_by=_user(request))
        secret.set_value(values["value"])
        secret.save()
        return Response(s.SecretSerializer(secret).data, status=status.HTTP_201_CREATED)

    @document(request=inputs.SecretUpdateIn, responses=s.SecretSerializer)
    def update(self, request: Request, name: str, partial: bool = False) -> Response:
        secret = self.get_object()
        serializer = inputs.SecretUpdateIn(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if "value" in serializer.validated_data:
            secret.set_value(serializer.validated_data["value"])
        secret.description = serializer.validated_data.get("description", secret.description)
        secret.updated_by = _user(request)
        secret.save()
        return Response(s.SecretSerializer(secret).data)

    @document(request=inputs.SecretUpdateIn, responses=s.SecretSerializer)
    def partial_update(self, request: Request, name: str) -> Response:
        return self.update(request, name, partial=True)

    def destroy(self, request: Request, name: str) -> Response:
        secret = self.get_object()
        users = services.versions_referencing_secret(secret.name)
        if users:
            raise StateConflict(f"{', '.join(users)} still reference(s) this secret; change them first", field="name")
        secret.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _user(request: Request) -> Any:
    return request.user if request.user.is_authenticated else None


class Catalogue(APIPolicy, generics.ListAPIView):
    """A read-only list built in Python, paginated like every other list; any signed-in user reads it."""
    permission_classes = [IsAuthenticated]
    filter_backends: list[type] = []


class EventTypesView(Catalogue):
    """The event catalogue: every type with its description, payload schema and sample."""
    serializer_class = s.EventTypeSerializer

    def get_queryset(self) -> list[dict[str, Any]]:
        return [{"type": name, "description": event_type.description, "schema": event_type.schema,
                 "sample": event_type.sample_data()} for name, event_type in sorted(EVENT_TYPES.items())]


class StripeEventsView(Catalogue):
    """The Stripe connector's mapping: each Stripe event type it maps and the catalogue event it
    becomes; any other Stripe event is acknowledged and counted, not stored."""
    serializer_class = s.StripeEventMappingSerializer

    def get_queryset(self) -> list[dict[str, Any]]:
        return [mapping.as_row() for mapping in STRIPE_MAPPINGS]


class ActionsView(Catalogue):
    """The action catalogue: every registered action with its config schema."""
    serializer_class = s.ActionSerializer

    def get_queryset(self) -> list[dict[str, Any]]:
        return [{"action": action.key, "family": action.family, "label": action.label or action.key,
                 "description": action.description, "config_schema": action.config_schema,
                 "literal_fields": list(action.literal_fields), "secret_fields": list(action.secret_fields),
                 "output_schema": action.output_schema,
                 "scenario_outcomes": [{"value": value, "label": label}
                                       for value, label in action.scenario_outcomes.items()]}
                for action in registry.all()]


class StepTypesView(Catalogue):
    """The step-type catalogue: every registered step type (a host's too) with its label, icon,
    lanes, what a new one starts with, its fields' JSON Schema and how a card sums it up."""
    serializer_class = s.StepTypeSerializer

    def get_queryset(self) -> list[dict[str, Any]]:
        schemas = step_type_schemas()
        return [step_type.describe(schemas[step_type.type_name])
                for step_type in sorted(step_types.all(), key=lambda step_type: step_type.type_order)]


class TriggerKindsView(Catalogue):
    """The trigger-kind catalogue: every registered trigger kind (a host's too) with its label,
    icon, what a new one starts with, its fields' JSON Schema, how a card sums it up and what a
    run it starts can read."""
    serializer_class = s.TriggerKindSerializer

    def get_queryset(self) -> list[dict[str, Any]]:
        schemas = trigger_kind_schemas()
        return [kind.describe(schemas[kind.type_name]) for kind in ordered_trigger_kinds()]


class TemplatesView(Catalogue):
    """The templates library."""
    serializer_class = s.TemplateSerializer

    def get_queryset(self) -> list[dict[str, Any]]:
        return [{**library.get_template(key), "key": key,
                 "email_templates": [t["key"] for t in library.get_template(key)["email_templates"]]}
                for key in library.template_keys()]


class DefinitionSchemaView(APIPolicy, APIView):
    """The definition's JSON Schema (draft 2020-12), for clients and the builder: the same as the
    ``Definition`` component of the OpenAPI schema, as one document."""
    permission_classes = [IsAuthenticated]

    @document(responses={200: {"type": "object", "description": "A JSON Schema (draft 2020-12) document."}})
    def get(self, request: Request) -> Response:
        return Response(definition_schema())


class InstantiateTemplateView(APIPolicy, APIView):
    """A new draft automation from a template of the library."""
    permission_classes = [NamedPermissions]
    required_permissions = ["automations.add_automation"]

    @document(request=inputs.InstantiateIn, responses={201: s.AutomationSerializer})
    def post(self, request: Request, key: str) -> Response:
        """Save a template as a new draft automation: its definition as it is, or the ``definition``
        made of it (the builder's), with the template's missing email templates."""
        if key not in library.template_keys():
            raise Http404(f"no template {key!r}")
        definition = _valid(inputs.InstantiateIn, request).get("definition")
        automation = library.instantiate(key, user=request.user, definition=None if definition is None
                                         else unmask_definition(definition, None))
        return _automation_response(automation, status.HTTP_201_CREATED)


class Preview(APIPolicy, APIView):
    """Something the builder shows beside a form, computed by the server: it changes nothing, so
    reading automations is enough."""
    permission_classes = [NamedPermissions]
    required_permissions = ["automations.view_automation"]


class SchedulePreviewView(Preview):
    """The next run times of a schedule, computed by the server (the builder's schedule editor)."""
    @document(request=inputs.SchedulePreviewIn, responses=s.SchedulePreviewSerializer)
    def post(self, request: Request) -> Response:
        body = _valid(inputs.SchedulePreviewIn, request)
        return Response({"next": previews.next_run_times(body["schedule"], body["count"])})


class RenderPreviewView(Preview):
    """Templates rendered on sample data, as a step would render them (the builder's email preview)."""
    @document(request=inputs.RenderPreviewIn, responses=s.RenderPreviewSerializer, parameters=[LIBRARY_TEMPLATE])
    def post(self, request: Request) -> Response:
        body = _valid(inputs.RenderPreviewIn, request)
        with library.email_templates_lent(_library_template(request)):
            return Response(previews.render_templates(body["templates"], body.get("data", {}), body.get("outputs", {}),
                                                      definition=body.get("definition"), step=body.get("step")))


class SendPreviewEmailView(Preview):
    """The email as the preview renders it, sent to the user's own address through the mail backend
    ("Send me a test email" in the builder): marked as a test, never to a customer."""
    @document(request=inputs.SendPreviewEmailIn, responses=s.SentPreviewSerializer, parameters=[LIBRARY_TEMPLATE])
    def post(self, request: Request) -> Response:
        body = _valid(inputs.SendPreviewEmailIn, request)
        address = (getattr(request.user, "email", "") or "").strip()
        if not address:
            raise InvalidInput("your user has no email address: add one to your user (Users in the admin) "
                               "to be sent test emails", field="to")
        with library.email_templates_lent(_library_template(request)):
            return Response(previews.send_preview_email(dict(body["templates"]), body.get("data", {}),
                                                        body.get("outputs", {}), to=address,
                                                        definition=body.get("definition"), step=body.get("step")))


class EmailTemplateViewSet(APIPolicy, mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.ListModelMixin,
                           mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Email templates by key: what send_email steps with a ``template`` send."""
    queryset = EmailTemplate.objects.order_by("key")
    serializer_class = s.EmailTemplateSerializer
    lookup_field = "key"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    filter_backends: list[type] = []

    @document(request=inputs.EmailTemplateIn, responses={201: s.EmailTemplateSerializer})
    def create(self, request: Request) -> Response:
        values = _valid(inputs.EmailTemplateIn, request)
        if EmailTemplate.objects.filter(key=values["key"]).exists():
            raise StateConflict(f"an email template with key {values['key']!r} already exists", field="key")
        template = EmailTemplate.objects.create(**values)
        return Response(s.EmailTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @document(request=inputs.EmailTemplateUpdateIn, responses=s.EmailTemplateSerializer)
    def update(self, request: Request, key: str, partial: bool = False) -> Response:
        template = self.get_object()
        serializer = inputs.EmailTemplateUpdateIn(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        problems = problems_if_saved(template.key, dict(serializer.validated_data))
        if problems:  # a version that sends it would break
            raise InvalidInput(problems)
        for name, value in serializer.validated_data.items():
            setattr(template, name, value)
        template.save()
        return Response(s.EmailTemplateSerializer(template).data)

    @document(request=inputs.EmailTemplateUpdateIn, responses=s.EmailTemplateSerializer)
    def partial_update(self, request: Request, key: str) -> Response:
        return self.update(request, key, partial=True)

    @document(responses={204: None})
    def destroy(self, request: Request, key: str) -> Response:
        """Delete the template; a 409 naming ``key`` and the automations while a draft or active
        version sends it."""
        services.delete_email_template(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class UnknownEndpointView(APIPolicy, APIView):
    """A URL under the API's names that no endpoint answers: a 404 in the API's error format."""
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        hint = ""
        if not request.path.endswith("/"):
            try:
                match = resolve(request.path + "/")
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "view_class", None) is not UnknownEndpointView:
                hint = f"; did you mean {request.path}/ ?"
        raise NotFound(f"no endpoint at {request.path}{hint}")
