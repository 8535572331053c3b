"""What clients send besides definitions: strict serializers that refuse unknown fields and JSON of
the wrong type (DRF would otherwise read ``"5"`` as 5 and 5 as ``"5"``)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from automations.api.schema import COMPONENTS, DEFINITION
from automations.api.strict import StrictSerializer

from automations import clock
from automations.durations import DURATION
from automations.steps.split import VARIANTS as SPLIT_VARIANTS
from automations.templating import template_problem
from billing_events.catalogue import event_type_names


class StrictCharField(serializers.CharField):
    """Text, and only text, taken as it is (not trimmed: limits apply to what was sent)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a string of digits nor a boolean."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


BILLING_DATA = ("Read customers, invoices, ... from the billing system's current data, as a real run does "
                "(default); false: from the given data alone.")


@extend_schema_field(DEFINITION)
class DefinitionField(serializers.DictField):
    """A whole definition inside a request (validated by the server when used)."""


@extend_schema_field({"type": "object", "additionalProperties": {}})
class DraftDefinitionField(serializers.DictField):
    """A definition being edited, which may still have problems (a preview reads what it can of it)."""


@extend_schema_field({"$ref": f"{COMPONENTS}Schedule"})
class ScheduleField(serializers.DictField):
    """A trigger's schedule object (validated by the server)."""


DURATION_TEXT = RegexValidator(DURATION, "is not a duration such as 2d or PT6H")


class SimulatedEventIn(StrictSerializer):
    """An event a test run's wait_for steps see."""

    type = serializers.ChoiceField(choices=(), help_text="The event type, such as invoice.paid.")
    after = StrictCharField(required=False, default="0s", max_length=50, validators=[DURATION_TEXT],
                            help_text="How long after the run starts it arrives (2d, PT6H).")
    data = serializers.DictField(required=False, help_text="What the event says (its customer, invoice, ...): "
                                                           "what later steps read once it has arrived.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = event_type_names()  # the catalogue as it is now (hosts add types)


TEST_EVENTS = ("Simulated events, in virtual time, for wait_for steps (without one a wait_for step times "
               "out).")
TEST_DECISIONS = ("approved", "rejected", "timed_out")


class LaterDecisionIn(StrictSerializer):
    """A decision an approver takes some time after the step asks."""

    decision = serializers.ChoiceField(TEST_DECISIONS)
    after = StrictCharField(required=False, default="0s", max_length=50, validators=[DURATION_TEXT],
                            help_text="How long after the step asks the decision is taken (1d, PT6H); one its "
                                      "timeout comes before is not taken.")


class LaterOutcomeIn(StrictSerializer):
    """An attempt's outcome with the wait the server asks for (an HTTP 429 or 503 with Retry-After)."""

    outcome = StrictCharField(min_length=1, help_text="The outcome, such as fails_temporarily.")
    retry_after = StrictCharField(required=False, max_length=50, validators=[DURATION_TEXT],
                                  help_text="The server asks to be tried again no sooner than this (1h): the "
                                            "retry waits this long when its policy would wait less.")


class _OneOf(serializers.Field):
    """A plain value (``plain``) or an object (``detailed``), as the test input takes an outcome or a decision."""

    plain: serializers.Field
    detailed: type[StrictSerializer]

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            detailed = self.detailed(data=data)
            detailed.is_valid(raise_exception=True)
            return dict(detailed.validated_data)
        return self.plain.run_validation(data)

    def to_representation(self, value: Any) -> Any:
        return value


LATER_DECISION = {"type": "object", "additionalProperties": False, "required": ["decision"],
                  "properties": {"decision": {"enum": list(TEST_DECISIONS)},
                                 "after": {"type": "string", "maxLength": 50, "pattern": DURATION}}}
LATER_OUTCOME = {"type": "object", "additionalProperties": False, "required": ["outcome"],
                 "properties": {"outcome": {"type": "string", "minLength": 1},
                                "retry_after": {"type": "string", "maxLength": 50, "pattern": DURATION}}}


@extend_schema_field({"oneOf": [{"enum": list(TEST_DECISIONS)}, LATER_DECISION]})
class DecisionField(_OneOf):
    """``"rejected"``, or ``{"decision": "rejected", "after": "1d"}``."""

    detailed = LaterDecisionIn

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plain = serializers.ChoiceField(TEST_DECISIONS)


@extend_schema_field({"oneOf": [{"type": "string", "minLength": 1}, {"type": "null"}, LATER_OUTCOME]})
class OutcomeField(_OneOf):
    """``"fails_temporarily"``, null (as predicted), or ``{"outcome": ..., "retry_after": "1h"}``."""

    detailed = LaterOutcomeIn

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)
        self.plain = serializers.CharField(min_length=1, trim_whitespace=False, allow_null=True)


TEST_OUTCOMES = ("What happens at each attempt of an action step, by step key, instead of what test mode "
                 "predicts: `{\"retry\": [\"soft_decline\", \"pays\"]}` (the last one repeats; null: as predicted). Every action "
                 "takes `succeeds`, `fails_temporarily` (retried under the retry policy) and `fails`; "
                 "retry_payment takes `pays`, `soft_decline`, `hard_decline` and `gateway_error`. An attempt "
                 "may be `{\"outcome\": \"fails_temporarily\", \"retry_after\": \"1h\"}`: the server asks to be "
                 "tried again no sooner (an HTTP 429 or 503 with Retry-After).")


class KeepVariantIn(StrictSerializer):
    """``POST automations/{id}/keep-variant/``: which split step, and which of its variants stays."""

    step = serializers.CharField(help_text="The split step's key.")
    variant = serializers.ChoiceField(SPLIT_VARIANTS, help_text="The variant whose steps replace the split.")


class TestPathsIn(StrictSerializer):
    """``POST automations/{id}/test-paths/``: what to test, every field optional."""

    data = serializers.DictField(required=False, help_text="The run's data (default: the trigger's sample payload).")
    version = StrictIntegerField(required=False, min_value=1,
                                 help_text="The version to test (default: the draft, else the active version).")
    definition = DefinitionField(required=False, help_text="An unsaved definition to test instead: what the "
                                                           "builder has on screen.")
    billing_data = serializers.BooleanField(required=False, default=True, help_text=BILLING_DATA)


class TestPathsUnsavedIn(StrictSerializer):
    """``POST automations/test-paths/``: a definition that is not saved yet."""

    definition = DefinitionField(help_text="The definition to test.")
    data = serializers.DictField(required=False, help_text="The run's data (default: the trigger's sample payload).")
    billing_data = serializers.BooleanField(required=False, default=True, help_text=BILLING_DATA)


class ScenarioIn(StrictSerializer):
    """What one test run is told: the events that arrive, the approvals' decisions, the actions' outcomes."""

    events = SimulatedEventIn(many=True, required=False, help_text=TEST_EVENTS)
    decision = serializers.ChoiceField(TEST_DECISIONS, required=False, default="approved",
                                       help_text="The decision approval steps take in the test.")
    decisions = serializers.DictField(child=DecisionField(), required=False,
                                      help_text="A decision per approval step key, over `decision`: at once, or "
                                                "`{\"decision\": \"approved\", \"after\": \"1d\"}` that long after "
                                                "the step asks.")
    outcomes = serializers.DictField(
        child=serializers.ListField(child=OutcomeField(), min_length=1, max_length=20), required=False,
        help_text=TEST_OUTCOMES)
    variants = serializers.DictField(child=serializers.ChoiceField(SPLIT_VARIANTS), required=False,
                                     help_text="A variant (`a` or `b`) per split step key, over the one the run's "
                                               "data draws.")


class TestIn(TestPathsIn, ScenarioIn):
    """``POST automations/{id}/test/``: every field optional."""


class TestUnsavedIn(TestPathsUnsavedIn, ScenarioIn):
    """``POST automations/test/``: a definition that is not saved yet (the builder's new automation)."""


#: A date, or a date-time with an offset (the server also checks that the day exists).
# Year 0000 is four digits but no year a date can have.
MOMENT = RegexValidator(r"^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
                        r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?$",
                        "an ISO 8601 date (2026-10-01) or date-time with an offset (2026-10-01T00:00:00Z)")


class BacktestIn(StrictSerializer):
    """``POST automations/{id}/backtest/``: the period (``from``, ``to``) and, optionally, the version."""

    version = StrictIntegerField(required=False, min_value=1,
                                 help_text="The version to replay (default: the draft, else the active version).")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # "from" is a Python keyword: these two are named here
        fields["from"] = StrictCharField(max_length=64, validators=[MOMENT], help_text=(
            "Events that occurred from this moment: an ISO 8601 date (UTC midnight) or date-time with an offset."))
        fields["to"] = StrictCharField(max_length=64, validators=[MOMENT], help_text=(
            "... to before this one (a date: to the end of that day, UTC). Not before from."))
        return fields


class SchedulePreviewIn(StrictSerializer):
    """``POST schedule-preview/``."""

    schedule = ScheduleField(help_text="A trigger's schedule object (interval, cron or calendar).")
    count = StrictIntegerField(required=False, min_value=1, max_value=50, default=5)


class RenderPreviewIn(StrictSerializer):
    """``POST render-preview/``: templates rendered as a step would render them."""

    templates = serializers.DictField(child=StrictCharField(allow_blank=True),
                                      help_text="subject, body, html, body_text or body_html: template sources.")
    data = serializers.DictField(required=False, help_text="The run's data (such as an event's sample payload).")
    outputs = serializers.DictField(required=False, help_text="Earlier steps' outputs, by step key (instead of "
                                                              "the predicted ones).")
    definition = DraftDefinitionField(required=False, help_text=(
        "The definition the templates are part of, as edited (it may still have problems): with ``step``, "
        "earlier steps' outputs are those test mode predicts on ``data``."))
    step = StrictCharField(required=False, max_length=100, help_text="The key of the step whose templates these are.")


class EmailSourcesIn(StrictSerializer):
    """An email's templates: a subject and a body, and optionally an HTML version."""

    subject = StrictCharField(allow_blank=True, help_text="The subject: a template.")
    body = StrictCharField(allow_blank=True, help_text="The text body: a template.")
    html = StrictCharField(required=False, allow_blank=True, help_text="The HTML version: a template.")


class SendPreviewEmailIn(RenderPreviewIn):
    """``POST send-preview-email/``: the email's templates, rendered as the preview renders them and
    sent to the user's own address."""

    templates = EmailSourcesIn()


class EmailTemplateUpdateIn(StrictSerializer):
    """``PUT/PATCH email-templates/{key}/``: Jinja syntax is checked for each template field."""

    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    subject = StrictCharField(max_length=500)
    body_text = StrictCharField()
    body_html = StrictCharField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        found = {name: template_problem(value) for name, value in attrs.items()
                 if name in ("subject", "body_text", "body_html")}
        problems = {name: [problem] for name, problem in found.items() if problem}
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class EmailTemplateIn(EmailTemplateUpdateIn):
    """``POST email-templates/``: a new template (steps refer to it by its key, which never changes)."""

    key = StrictCharField(max_length=100, validators=[RegexValidator(r"^[-a-zA-Z0-9_]+$", "letters, digits, - and _")])


REVISION = ("The draft revision this is based on (the automation's ETag and revision field): a draft saved or "
            "activated since refuses it with a 412 naming who, when and what changed. Left out, nothing is checked.")


class InstantiateIn(StrictSerializer):
    """``POST templates/{key}/instantiate/``: the definition to save (default: the template's own)."""

    definition = DefinitionField(required=False,
                                 help_text="The definition made from the template (the builder's, edited); "
                                           "default: the template's definition as it is.")


class ActivateIn(StrictSerializer):
    """``POST automations/{id}/activate/``: which draft revision is being activated."""

    revision = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1, help_text=REVISION)


class RunIn(StrictSerializer):
    """``POST automations/{id}/run/``."""

    data = serializers.DictField(required=False, help_text="The run's data, read like an event's data.")


class EventIn(StrictSerializer):
    """The event envelope: ``type`` and ``data`` are validated against the catalogue, as by emit()."""

    id = StrictCharField(max_length=255, required=False,
                         help_text="The idempotency key: the same id twice is stored once.")
    type = StrictCharField(max_length=100)
    occurred_at = serializers.DateTimeField(required=False)
    data = serializers.DictField()


class SecretUpdateIn(StrictSerializer):
    """``PUT secrets/{name}/`` (a new value) and ``PATCH`` (value, description or both)."""

    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    value = StrictCharField(max_length=10000, write_only=True, help_text="Write-only: never returned.")


class SecretIn(SecretUpdateIn):
    """``POST secrets/``: a new named secret."""

    name = StrictCharField(max_length=100, validators=[RegexValidator(
        r"^[A-Za-z_][A-Za-z0-9_]*$", "letters, digits and _, not starting with a digit")],
        help_text="Referenced as {{ secrets.NAME }}.")


class DecisionIn(StrictSerializer):
    """``POST approvals/{id}/approve/`` and ``reject/``."""

    comment = StrictCharField(required=False, default="", allow_blank=True, max_length=5000,
                              help_text="Why: kept with the decision and given to the run.")


#: Something besides spaces: the characters Python's strip() and JavaScript's \s take for spaces
#: both left out, so the documented pattern and the server agree.
NOT_BLANK = RegexValidator(r"[^\s\x1c-\x1f\x85\ufeff]", "say why the run is canceled: the reason is recorded with your name")


class CancelIn(StrictSerializer):
    """``POST executions/{id}/cancel/``."""

    reason = StrictCharField(max_length=400, validators=[NOT_BLANK], error_messages={"blank": NOT_BLANK.message},
                             help_text=(
        'Why (required, not blank): recorded as "canceled by <user> through the API: <reason>".'))


class StatsIn(StrictSerializer):
    """``GET automations/{id}/stats/``: the period (days, UTC, both included) and, optionally, a version."""

    #: The longest period one answer covers: its daily series has a row a day.
    MOST_DAYS = 366

    # Query parameters are text: the number is read from it.
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                       help_text="Count one version (default: all); 409 if there is no such version.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # "from" is a Python keyword: these two are named here
        fields["from"] = serializers.DateField(required=False, help_text="The first day (default: 29 days before to).")
        fields["to"] = serializers.DateField(required=False, help_text="The last day, included (default: today, UTC).")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("to") or clock.now().date()
        start = attrs.get("from") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"from": "must not be after to"})
        if (end - start).days + 1 > self.MOST_DAYS:
            raise serializers.ValidationError({"to": f"the period may be at most {self.MOST_DAYS} days"})
        return {**attrs, "from": start, "to": end}
