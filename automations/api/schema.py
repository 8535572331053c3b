"""How the API describes itself in its OpenAPI 3.1 schema: its own settings and schema class (so a
host's drf-spectacular and DRF settings change nothing), every 4xx with the one error body, and the
definition's JSON Schema as components."""
from __future__ import annotations

from typing import Any, Callable

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from automations.api.strict import StrictSerializer
from automations.definition.json_schema import NOT_BLANK, definition_defs
from billing_events.catalogue import EVENT_TYPES

SCHEMA_SETTINGS = {
    "TITLE": "Billing Automations API",
    "DESCRIPTION": ("Automations, executions, events, secrets and catalogues of the billing automations apps. "
                    "Every 4xx answer is {\"errors\": [{\"field\", \"message\"}]}; text must not contain NUL "
                    "characters; bodies are at most AUTOMATIONS['API_MAX_BODY_BYTES'] (default 1 MiB) and nest "
                    "at most 100 levels."),
    "VERSION": "0.1.0",
    "OAS_VERSION": "3.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "automations.status.ExecutionStatus",
        "StepRunStatusEnum": "automations.status.StepRunStatus",
        "VersionStateEnum": "automations.status.VersionState",
        "ApprovalStatusEnum": "automations.models.approval.ApprovalStatus",
        "SplitVariantEnum": "automations.steps.split.VARIANTS",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "automations.api.schema.complete_schema"],
}
COMPONENTS = "#/components/schemas/"
DEFINITION = {"$ref": f"{COMPONENTS}Definition"}
DEFINITION_PATCH = {"$ref": f"{COMPONENTS}DefinitionPatch"}
EVENT_ENVELOPE = {"$ref": f"{COMPONENTS}EventEnvelope"}
#: A definition as the API shows it: a Definition whose secret values may read ``********``.
SHOWN_DEFINITION = {"type": "object", "description": "The canonical definition (schema: Definition), with secret "
                                                     "values masked as ********."}


def complete_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the definition's JSON Schema (and a partial one for PATCH) and the event
    envelope, built from this installation's registries, as components; and query parameters as
    they are read (an empty value is refused, pages start at 1)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
                    schema["minLength"] = 1
                if parameter.get("in") == "query" and parameter["name"] == "page":
                    schema["minimum"] = 1

    defs = definition_defs(prefix=COMPONENTS)
    # what a PATCH gives must hold on its own: re-entry rules and exits come with a correlation key
    partial = {key: value for key, value in defs["Definition"].items() if key not in ("required", "title")}
    # and one that clears the correlation key clears what needs it: the draft may have re-entry rules or exits
    partial["allOf"] = [*partial.get("allOf", []), {
        "if": {"required": ["correlation_key"], "properties": {"correlation_key": {"maxLength": 0}}},
        "then": {"required": ["reentry", "exit_on"],
                 "properties": {"reentry": {"const": "allow"}, "exit_on": {"maxItems": 0}}}}]
    defs["DefinitionPatch"] = {**partial, "title": "Some top-level fields of a definition",
                               "description": "Replace these top-level fields of the current definition."}
    defs["EventEnvelope"] = event_envelope_schema()
    result.setdefault("components", {}).setdefault("schemas", {}).update(defs)
    return result


def event_envelope_schema() -> dict[str, Any]:
    """``POST events/``: one variant per event type, its ``data`` described by the catalogue's schema."""
    common = {"id": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NOT_BLANK,
                     "description": "The idempotency key: sent again with the same body, nothing new happens."},
              "occurred_at": {"type": "string", "format": "date-time"}}
    return {"oneOf": [
        {"type": "object", "title": name, "required": ["type", "data"], "additionalProperties": False,
         "properties": {**common, "type": {"const": name},
                        "data": {key: value for key, value in event_type.schema.items() if key != "$schema"}}}
        for name, event_type in sorted(EVENT_TYPES.items())]}


class ErrorItem(serializers.Serializer):
    field = serializers.CharField(help_text='The dotted path of the input at fault, or "" for the whole request.')
    message = serializers.CharField()


class Error(serializers.Serializer):
    """The body of every 4xx answer."""

    errors = ErrorItem(many=True)


@extend_schema_field({"type": ["object", "null"]})
class DiffField(serializers.JSONField):
    """A definition diff as versions show it (``summary``, ``lines``, ``changed``...), or null."""


class StaleErrorItem(ErrorItem):
    revision = serializers.IntegerField(help_text="The latest revision: name it to write over it.")
    based_on = serializers.IntegerField(help_text="The revision the refused request named.")
    author = serializers.CharField(allow_null=True, help_text="Who made the latest revision.")
    authors = serializers.ListField(child=serializers.CharField(), help_text="Everyone who saved since.")
    event = serializers.ChoiceField(choices=["saved", "activated"])
    version = serializers.IntegerField(help_text="The version number the latest revision saved or activated.")
    at = serializers.DateTimeField()
    changes = DiffField(allow_null=True, help_text="What changed since the named revision (a diff as "
                                                                "versions show it), null if that one is gone.")
    overwrite = DiffField(required=False, help_text="For a save: what writing over it would change.")


class StaleError(serializers.Serializer):
    """The body of a 412: the draft was saved or activated since the revision the request named."""

    errors = StaleErrorItem(many=True)


ERRORS = {
    400: "Bad input: each error names its field.", 401: "Not signed in.", 403: "Missing permission.",
    404: "No such object (or page).", 406: "Only JSON is served.",
    409: "Conflicts with the current state (nothing to activate, no such version or step, runs still live, an "
         "execution already ended, an event id used with another body, a name or key taken).",
    412: "The draft was saved or activated since the revision named (If-Match or revision): who, when and "
         "what changed.",
    413: "The body is too large.", 415: "Only JSON is read.", 429: "Too many requests (when the host throttles).",
    503: "A service it needs (the mail server) is out of reach or refused it: try again later.",
}


#: POST endpoints that can conflict with the current state.
CONFLICTING = ("/activate", "/run", "/test", "/test-paths", "/backtest", "/cancel", "/resume-now", "/retry", "/events", "/secrets",
               "/email-templates", "/keep-variant")
#: Endpoints that need a service outside the apps (the mail server): a 503 when it is out of reach.
UNAVAILABLE = ("/send-preview-email",)
#: GET endpoints that can conflict with the current state (a version there is not).
CONFLICTING_READS = ("/stats",)
#: Writes that can name the draft revision they are based on (a stale one is a 412).
REVISIONED = ("/automations/{id}/", "/activate/", "/restore/", "/keep-variant/")


class APISchema(AutoSchema):
    """drf-spectacular's schema, named on every view, documenting each 4xx an operation can answer."""

    def _error_statuses(self) -> list[int]:
        statuses = [400, 401, 403, 406, 429]
        if "{" in self.path or self._is_list_view():
            statuses.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += [413, 415]
        if (self.method == "DELETE" or (self.method == "POST" and self.path.rstrip("/").endswith(CONFLICTING))
                or (self.method == "GET" and self.path.rstrip("/").endswith(CONFLICTING_READS))):
            statuses.append(409)
        if self.path.rstrip("/").endswith(UNAVAILABLE):
            statuses.append(503)
        if self.method in ("POST", "PUT", "PATCH") and "/automations/" in self.path and self.path.endswith(REVISIONED):
            statuses.append(412)
        return sorted(statuses)

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> tuple[Any, bool]:
        if serializer in (DEFINITION, EVENT_ENVELOPE):
            return serializer, True
        return super()._get_request_for_media_type(serializer, direction)

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if isinstance(force_instance(serializer), StrictSerializer):
            schema["additionalProperties"] = False  # unknown fields are refused
        return schema

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        error = self.resolve_serializer(Error, "response").ref
        for status in self._error_statuses():
            body = self.resolve_serializer(StaleError, "response").ref if status == 412 else error
            responses.setdefault(str(status), {"description": ERRORS[status],
                                               "content": {"application/json": {"schema": body}}})
        return responses


def document(**kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``extend_schema`` built on :class:`APISchema`: drf-spectacular would otherwise build a method's
    schema on the host's ``DEFAULT_SCHEMA_CLASS``, which may not be drf-spectacular's."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        if not hasattr(method, "kwargs"):
            method.kwargs = {}  # type: ignore[attr-defined]
        method.kwargs.setdefault("schema", APISchema)  # type: ignore[attr-defined]
        return extend_schema(**kwargs)(method)

    return decorator
