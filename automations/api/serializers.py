"""Serializers: what the API shows of automations, versions, executions and events."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from automations.actions import registry
from automations.api.schema import SHOWN_DEFINITION
from automations.definition.diff import diff_definitions
from automations.definition.serialize import definition_of
from automations.steps.split import VARIANTS as SPLIT_VARIANTS
from automations.models import (ApprovalRequest, Automation, AutomationVersion, Backtest, EmailTemplate, Execution,
                                Secret, StepRun)
from automations.revisions import current_revision
from automations.masking import mask_config
from automations.secrets import mask_definition
from automations import money
from automations.services import live_executions, new_run, resumability, retry_refusal
from automations.status import ExecutionStatus, TriggerType
from automations.step_log import attempt_labels, ending, step_states
from billing_events.models import Event


class AutomationSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    trigger_type = serializers.ChoiceField(choices=TriggerType.choices, allow_blank=True, read_only=True,
                                           help_text="The active version's trigger type; empty until activated.")
    active_version = serializers.SerializerMethodField()
    draft_version = serializers.SerializerMethodField()
    active_definition = serializers.SerializerMethodField()
    draft_definition = serializers.SerializerMethodField()
    live_executions = serializers.SerializerMethodField()
    revision = serializers.SerializerMethodField()

    class Meta:
        model = Automation
        fields = ["id", "name", "description", "status", "is_paused", "trigger_type", "trigger_event",
                  "active_version", "draft_version", "active_definition", "draft_definition", "revision",
                  "live_executions", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_active_version(self, automation: Automation) -> int | None:
        return automation.active_version.number if automation.active_version else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_draft_version(self, automation: Automation) -> int | None:
        draft = automation.draft_version
        return draft.number if draft else None

    @extend_schema_field({**SHOWN_DEFINITION, "type": ["object", "null"]})
    def get_active_definition(self, automation: Automation) -> dict[str, Any] | None:
        return mask_definition(automation.active_version.snapshot) if automation.active_version else None

    @extend_schema_field({**SHOWN_DEFINITION, "type": ["object", "null"]})
    def get_draft_definition(self, automation: Automation) -> dict[str, Any] | None:
        draft = automation.draft_version
        return mask_definition(definition_of(draft)) if draft else None


    @extend_schema_field(serializers.IntegerField(
        allow_null=True, help_text="The draft's revision (also the ETag): name it in a save (If-Match or "
                                   "revision) or an activation to have it refused if someone saved since."))
    def get_revision(self, automation: Automation) -> int | None:
        return current_revision(automation)

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"},
                          "description": "Running or waiting executions by the version number they run on."})
    def get_live_executions(self, automation: Automation) -> dict[str, int]:
        return {str(number): count for number, count in live_executions(automation).items()}


class AutomationListSerializer(AutomationSerializer):
    class Meta(AutomationSerializer.Meta):
        fields = ["id", "name", "description", "status", "is_paused", "trigger_type", "trigger_event",
                  "active_version", "draft_version", "created_at", "updated_at"]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    diff = serializers.SerializerMethodField()
    restored_from = serializers.IntegerField(
        allow_null=True, read_only=True,
        help_text="The number of the version this one's definition was restored from (null: not a restore).")

    class Meta:
        model = AutomationVersion
        fields = ["number", "state", "name", "author", "created_at", "activated_at", "restored_from", "diff"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author(self, version: AutomationVersion) -> str | None:
        return version.created_by.get_username() if version.created_by else None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_diff(self, version: AutomationVersion) -> dict[str, Any]:
        previous = version.automation.versions.filter(number__lt=version.number).order_by("-number").first()
        return diff_definitions(definition_of(previous) if previous else None, definition_of(version))


class VersionDetailSerializer(VersionSerializer):
    definition = serializers.SerializerMethodField()

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "definition"]
        read_only_fields = fields

    @extend_schema_field(SHOWN_DEFINITION)
    def get_definition(self, version: AutomationVersion) -> dict[str, Any]:
        return mask_definition(definition_of(version))


class StepRunSerializer(serializers.ModelSerializer):
    input = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = ["step_key", "step_type", "action", "loop_index", "attempt", "status", "label", "started_at",
                  "finished_at", "input", "output", "error"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(help_text=(
        "The attempt's status in words, such as 'Declined — continued: Your card was declined (card_declined)' "
        "for a payment declined while the run went on past it.")))
    def get_label(self, run: StepRun) -> str:
        # the execution's serializer puts every attempt's label in the context, computed once
        return self.context.get("step_labels", {}).get(run.pk) or run.get_status_display()

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_input(self, run: StepRun) -> dict[str, Any] | None:
        """The rendered config, masked when logged; masked again here for rows logged by older versions."""
        if not isinstance(run.input, dict):
            return run.input
        action = registry.get(run.action)
        return mask_config(run.input, action.secret_fields if action else ())


class ExecutionSerializer(serializers.ModelSerializer):
    automation_name = serializers.CharField(source="automation.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    event_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Execution
        fields = ["id", "automation", "automation_name", "version", "status", "status_reason", "error", "trigger",
                  "event_id", "correlation_value", "started_at", "wake_at", "finished_at"]
        read_only_fields = fields


class StepStateSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="succeeded, failed, running, waiting, retrying, interrupted or canceled")
    label = serializers.CharField(help_text="As a person reads it, such as 'Waiting until 2026-11-23 10:00 UTC' or "
                                            "'Declined — continued: Your card was declined (card_declined)'.")
    attempts = serializers.IntegerField()
    runs = serializers.IntegerField(help_text="Rows in the step log (attempts, and loop items).")


class EndingSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField(help_text=(
        "How it ended in words, such as 'Ended when invoice.paid arrived for inv_2001 (event evt_1)' or "
        "'Completed all its steps, but step retry was declined: …, and the run went on without it'."))
    at = serializers.DateTimeField(allow_null=True)


class ApprovalRequestSerializer(serializers.ModelSerializer):
    automation = serializers.IntegerField(source="execution.automation_id", read_only=True)
    automation_name = serializers.CharField(source="execution.automation.name", read_only=True)
    execution_status = serializers.CharField(source="execution.status", read_only=True)
    decided_by = serializers.SerializerMethodField()
    details = serializers.JSONField(read_only=True, help_text="The customer and amounts it is about.")
    approvers = serializers.JSONField(read_only=True, help_text="Who may decide: a permission, groups.")

    class Meta:
        model = ApprovalRequest
        fields = ["id", "execution", "execution_status", "automation", "automation_name", "step_key", "ask",
                  "details", "approvers", "status", "decided_by", "comment", "created_at", "expires_at",
                  "on_timeout", "decided_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Who decided (a username)."))
    def get_decided_by(self, request: ApprovalRequest) -> str | None:
        return request.decided_by.get_username() if request.decided_by else None


class ApprovalRequestDetailSerializer(ApprovalRequestSerializer):
    approve_effects = serializers.SerializerMethodField()

    class Meta(ApprovalRequestSerializer.Meta):
        fields = [*ApprovalRequestSerializer.Meta.fields, "approve_effects"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text=(
        "What approving moves, in words, from the run's current billing data: the money steps of the "
        "approved lane up to the run's next wait, such as 'Voids INV-2026-0042 (1,250.00 USD due)'. "
        "Empty when nothing, or when the request is no longer pending.")))
    def get_approve_effects(self, request: ApprovalRequest) -> list[str]:
        return money.approve_effects(request)


class ResumeNowSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    kind = serializers.CharField(help_text="What the run waits for: delay, retry, wait_for, approval or held_message.")
    text = serializers.CharField(help_text="What resuming now does, or why it may not.")
    effects = serializers.ListField(child=serializers.CharField(), help_text="The money it then moves, in words.")
    title = serializers.CharField(help_text="The confirmation's question in this wait's words ('Skip the wait at "
                                            "step wait_3d?', 'Retry step charge now?'); empty when refused.")
    action = serializers.CharField(help_text="The confirming button's words ('Skip the wait and go on now').")


class NewRunSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    version = serializers.IntegerField(help_text="The active version the new run would run.")
    text = serializers.CharField(help_text=(
        "What it does in one sentence, such as 'This starts a new run of Payment dunning (version 1) from the "
        "same event (payment.failed evt_1): it may charge INV-2026-0042 1,250.00 USD again and send 3 emails. "
        "…', or why it may not start now."))
    effects = serializers.ListField(child=serializers.CharField(), help_text="The money it may move, in words.")
    messages = serializers.ListField(child=serializers.CharField(), help_text="The messages it may send ('3 emails').")


class ExecutionDetailSerializer(ExecutionSerializer):
    steps = StepRunSerializer(source="step_runs", many=True, read_only=True)
    step_states = serializers.SerializerMethodField()
    ending = serializers.SerializerMethodField()
    approvals = ApprovalRequestDetailSerializer(many=True, read_only=True,
                                                help_text="The run's approval requests, the latest first.")
    resume_now = serializers.SerializerMethodField()
    retry_effects = serializers.SerializerMethodField()
    retry_refused = serializers.SerializerMethodField()
    new_run = serializers.SerializerMethodField()

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "data", "outputs", "steps", "step_states", "ending",
                  "approvals", "resume_now", "retry_effects", "retry_refused", "new_run"]
        read_only_fields = fields

    def to_representation(self, execution: Execution) -> dict[str, Any]:
        runs = list(execution.step_runs.order_by("started_at", "pk"))
        self.context["step_labels"] = attempt_labels(execution, runs)
        return super().to_representation(execution)

    @extend_schema_field(NewRunSerializer(allow_null=True, help_text=(
        "What starting a new run of the automation's active version with this run's data (POST "
        "automations/{id}/run/) would do: the money it may move and the messages it may send, or why it may "
        "not start now. Null when the automation has no active version.")))
    def get_new_run(self, execution: Execution) -> dict[str, Any] | None:
        preview = new_run(execution)
        return preview.as_dict() if preview else None

    @extend_schema_field(ResumeNowSerializer(allow_null=True, help_text=(
        "For a waiting execution: whether resume-now/ may end its wait, what that does, and the money "
        "it then moves. Null when it is not waiting.")))
    def get_resume_now(self, execution: Execution) -> dict[str, Any] | None:
        return resumability(execution).as_dict() if execution.status == ExecutionStatus.WAITING else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text=(
        "For a failed execution: what retry/ moves, in words, from the run's current billing data (the "
        "failed step and the steps it goes straight on to), such as 'Charges INV-2026-0042 1,250.00 USD again'.")))
    def get_retry_effects(self, execution: Execution) -> list[str]:
        return money.retry_effects(execution)

    @extend_schema_field(serializers.CharField(allow_null=True, help_text=(
        "For a failed execution whose failed step would refuse to try again (a card the issuer declined "
        "for good is not charged again): why, in words; retry/ is then a 409. Null otherwise.")))
    def get_retry_refused(self, execution: Execution) -> str | None:
        return retry_refusal(execution)

    @extend_schema_field(serializers.DictField(child=StepStateSerializer(),
                                               help_text="Each step that ran, by key (the run view's states)."))
    def get_step_states(self, execution: Execution) -> dict[str, Any]:
        runs = list(execution.step_runs.order_by("started_at", "pk"))
        states = step_states(execution, runs, self.context.get("step_labels"))
        return {key: state.as_dict() for key, state in states.items()}

    @extend_schema_field(EndingSerializer(allow_null=True, help_text="How a finished execution ended."))
    def get_ending(self, execution: Execution) -> dict[str, Any] | None:
        return ending(execution)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "type", "occurred_at", "data", "received_at"]
        read_only_fields = ["received_at"]


class EventDetailSerializer(EventSerializer):
    executions = ExecutionSerializer(many=True, read_only=True)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "executions"]
        read_only_fields = ["received_at"]


class SecretSerializer(serializers.ModelSerializer):
    """A named secret as the API shows it: its name and who set it, never its value."""
    created_by = serializers.SerializerMethodField()
    updated_by = serializers.SerializerMethodField()

    class Meta:
        model = Secret
        fields = ["name", "description", "created_at", "updated_at", "created_by", "updated_by"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, secret: Secret) -> str | None:
        return secret.created_by.get_username() if secret.created_by else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_updated_by(self, secret: Secret) -> str | None:
        return secret.updated_by.get_username() if secret.updated_by else None


class EventTypeSerializer(serializers.Serializer):
    """An entry of the event catalogue."""
    type = serializers.CharField()
    description = serializers.CharField()
    schema = serializers.DictField(help_text="The JSON Schema of the event's data.")
    sample = serializers.DictField(help_text="A realistic sample of the event's data.")


class StripeEventMappingSerializer(serializers.Serializer):
    """A row of the Stripe connector's mapping: the catalogue event a Stripe event type becomes."""
    stripe_type = serializers.CharField(help_text="The Stripe event type, such as `invoice.payment_failed`.")
    event_type = serializers.CharField(help_text="The catalogue event type it is stored as.")
    description = serializers.CharField(help_text="When it is mapped, and what it carries.")


class ActionSerializer(serializers.Serializer):
    """An entry of the action catalogue."""
    action = serializers.CharField()
    family = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    config_schema = serializers.DictField(help_text="The JSON Schema of the step's config.")
    literal_fields = serializers.ListField(child=serializers.CharField(),
                                          help_text="Config fields taken as written (not templates).")
    secret_fields = serializers.ListField(child=serializers.CharField(), help_text="Config fields shown masked.")
    output_schema = serializers.DictField(help_text="What later steps read as steps.<key>.output.")
    scenario_outcomes = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="What a test may choose for one attempt (`value`, and the `label` an operator reads).")


class StartingFieldsSerializer(serializers.Serializer):
    root = serializers.CharField(help_text="Where the run brings this data (invoice) where the step is added…")
    fields = serializers.DictField(help_text="…a new step starts with these fields instead of the blank's.")


class LaneVariableSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The step's field that names the variable (a loop's `as`).")
    default = serializers.CharField(help_text="Its name when the field is left out.")


class StepScopeSerializer(serializers.Serializer):
    output = serializers.DictField(allow_null=True, help_text=(
        "The JSON Schema of what later steps read as steps.<key>.output; null when the type does not say "
        "(an action step's output is its action's output_schema)."))
    lane_variable = LaneVariableSerializer(allow_null=True, help_text="The variable its lanes add, if any.")


class StepTypeSerializer(serializers.Serializer):
    """An entry of the step-type catalogue: what clients need to offer, show and edit a step type."""
    type = serializers.CharField(help_text="The step's `type` in a definition.")
    label = serializers.CharField(help_text="What an operator calls it.")
    description = serializers.CharField(allow_blank=True)
    icon = serializers.CharField(help_text="A name of the builder's icon set; `step` is the generic one.")
    lanes = serializers.ListField(child=serializers.CharField(), help_text="Its nested step lists, in order.")
    lane_labels = serializers.DictField(child=serializers.CharField(), help_text="What each lane is called.")
    blank = serializers.DictField(help_text="A new step of the type, without `key`: what an operator would most "
                                            "often want.")
    blank_by_data = StartingFieldsSerializer(many=True, help_text=(
        "Better starting fields where the run brings some data: the first whose root the run has replaces "
        "those fields of `blank`."))
    schema = serializers.DictField(help_text="The JSON Schema (draft 2020-12) of the step's own fields (without "
                                             "key, type, name and lanes).")
    summary = serializers.ListField(child=serializers.CharField(), help_text=(
        "How a card sums the step up: templates where {field} stands for the step's value; the first whose "
        "fields are all set."))
    scope = StepScopeSerializer(help_text="What the step adds to the variables later steps can read.")


class TriggerScopeSerializer(serializers.Serializer):
    data = serializers.ChoiceField(choices=["event", "given", "none"], help_text=(
        "The data a run starts with: `event`, the chosen event's (its type's payload schema and sample in "
        "event-types/); `given`, what the caller passes (Run now, run/); `none`, nothing (a loop's item brings data)."))
    variables = serializers.DictField(help_text=(
        "Roots the run adds besides that data, with their JSON Schema (a schedule's `schedule`, whose `slot` "
        "is the slot's time)."))


class TriggerKindSerializer(serializers.Serializer):
    """An entry of the trigger-kind catalogue: what clients need to offer, show and edit a trigger kind."""
    type = serializers.CharField(help_text="The trigger's `type` in a definition.")
    label = serializers.CharField(help_text="What an operator calls it.")
    description = serializers.CharField(allow_blank=True, help_text="What it does, in a sentence.")
    icon = serializers.CharField(help_text="A name of the builder's icon set; `trigger` is the generic one.")
    blank = serializers.DictField(help_text="A new trigger of the kind: what an operator would most often want.")
    schema = serializers.DictField(help_text="The JSON Schema (draft 2020-12) of the trigger's own fields (without "
                                             "type): its part of the definition schema's Trigger.")
    summary = serializers.ListField(child=serializers.CharField(), help_text=(
        "How a card sums the trigger up: templates where {field} stands for the trigger's value; the first "
        "whose fields are all set."))
    scope = TriggerScopeSerializer(help_text="What a run it starts can read.")


class TemplateSerializer(serializers.Serializer):
    """A template of the library."""
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    definition = serializers.SerializerMethodField()
    email_templates = serializers.ListField(child=serializers.CharField())

    @extend_schema_field(SHOWN_DEFINITION)
    def get_definition(self, template: dict[str, Any]) -> dict[str, Any]:
        return template["definition"]


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    warnings = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                     help_text="What may be a mistake but does not stop saving (an undocumented field).")
    definition = serializers.DictField(allow_null=True, help_text="The canonical form when valid, else null.")


class RevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    state = serializers.CharField()
    event = serializers.ChoiceField(choices=["saved", "activated"])
    author = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    diff = serializers.DictField()
    note = serializers.CharField(allow_blank=True, help_text="What the save was, when it was a restore "
                                                            "(\"restored from v1\"); empty for an edit.")
    restored_from = serializers.IntegerField(allow_null=True,
                                             help_text="The version this save restored into the draft, if it did.")


class SchedulePreviewSerializer(serializers.Serializer):
    next = serializers.ListField(child=serializers.DateTimeField())


class RenderPreviewSerializer(serializers.Serializer):
    rendered = serializers.DictField(child=serializers.CharField(allow_blank=True))
    errors = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    warnings = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                     help_text="Variables that rendered empty, by field.")


class EmailTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailTemplate
        fields = ["key", "name", "subject", "body_text", "body_html", "updated_at"]
        read_only_fields = fields


class PeriodSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {"from": serializers.DateTimeField(source="period_start", help_text="From this moment (inclusive)."),
                "to": serializers.DateTimeField(source="period_end", help_text="To this moment (exclusive).")}


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="events_done", help_text="Events replayed so far.")
    total = serializers.IntegerField(source="events_total", allow_null=True,
                                     help_text="Events to replay (null until the backtest starts; exit events "
                                               "after the period are added once the period is done).")


class BacktestSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version_number", read_only=True)
    version_state = serializers.CharField(read_only=True, help_text="draft, active or inactive when asked for.")
    period = PeriodSerializer(source="*", read_only=True)
    progress = ProgressSerializer(source="*", read_only=True)
    created_by = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()

    class Meta:
        model = Backtest
        fields = ["id", "automation", "version", "version_state", "period", "status", "progress", "result", "error",
                  "created_by", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field({"type": ["object", "null"], "description": "Once succeeded: what was replayed (automation, "
                          "version, period, billing data) and what it found (see the README)."})
    def get_result(self, backtest: Backtest) -> dict[str, Any] | None:
        return backtest.result

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, backtest: Backtest) -> str | None:
        return backtest.created_by.get_username() if backtest.created_by else None


class StepFiguresSerializer(serializers.Serializer):
    reached = serializers.IntegerField(help_text="Runs that reached the step (first attempts) in the period.")
    succeeded = serializers.IntegerField(help_text="Attempts that succeeded.")
    failed = serializers.IntegerField(help_text="Attempts that failed (each retry counts).")
    waiting = serializers.IntegerField(help_text="Runs waiting at the step now (whatever the period).")
    share = serializers.FloatField(allow_null=True, help_text="reached / runs started (null: none started).")
    recovered = serializers.IntegerField(help_text=(
        "Invoices paid in the period that credit this step: the retry that paid, or the last step that ran "
        "before the customer paid."))
    recovered_amounts = serializers.DictField(child=serializers.DecimalField(max_digits=16, decimal_places=2),
                                              help_text="Their amounts, by currency.")


class TimeToRecoverSerializer(serializers.Serializer):
    median = serializers.IntegerField(allow_null=True, help_text="Seconds from a run's start to its invoice paid.")
    p90 = serializers.IntegerField(allow_null=True, help_text="The 90th percentile (nearest rank), in seconds.")


class RecoveredFiguresSerializer(serializers.Serializer):
    invoices = serializers.IntegerField(help_text=(
        "Invoices paid in the period while a run was live: by a retry_payment step of the run, or by the "
        "customer (an invoice.paid or payment.succeeded the run exits on)."))
    by_retry = serializers.IntegerField()
    by_customer = serializers.IntegerField()
    amounts = serializers.DictField(child=serializers.DecimalField(max_digits=16, decimal_places=2),
                                    help_text="The money recovered, by currency.")
    time_to_recover = TimeToRecoverSerializer()


class TemplateFiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Attempts that failed (each retry counts).")


class RunFiguresSerializer(serializers.Serializer):
    started = serializers.IntegerField(help_text="Runs started in the period.")
    live = serializers.IntegerField(help_text="Runs running or waiting now (whatever the period).")
    ended = serializers.DictField(child=serializers.IntegerField(), help_text=(
        "Runs that ended in the period, by how: goal (an exit_on event ended it), completed (past its last "
        "step), stop:<step>, failed:<step>, canceled."))
    goal = serializers.IntegerField(help_text="Runs that reached the goal.")
    conversion = serializers.FloatField(allow_null=True, help_text="goal / started (null: none started).")


class DayFiguresSerializer(serializers.Serializer):
    day = serializers.DateField()
    started = serializers.IntegerField()
    ended = serializers.IntegerField()
    goal = serializers.IntegerField()
    recovered = serializers.IntegerField(help_text="Invoices recovered that day.")


class VariantFiguresSerializer(serializers.Serializer):
    weight = serializers.IntegerField(allow_null=True, help_text="Its weight in the version shown (null: not in it).")
    runs = serializers.IntegerField(help_text="Runs that took the variant and ended in the period.")
    converted = serializers.IntegerField(help_text="Of those, runs that reached the goal or recovered money.")
    conversion = serializers.FloatField(allow_null=True, help_text="converted / runs (null: no runs).")
    recovered = serializers.DictField(child=serializers.DecimalField(max_digits=16, decimal_places=2),
                                      help_text="Money recovered by its runs in the period, by currency.")
    invoices = serializers.IntegerField(help_text="Invoices its runs recovered in the period.")
    time_to_recover = TimeToRecoverSerializer()


class ComparisonSerializer(serializers.Serializer):
    z = serializers.FloatField(allow_null=True, help_text="The two-proportion z statistic of A's conversion against B's.")
    p_value = serializers.FloatField(allow_null=True, help_text=(
        "Two-sided: how likely a difference at least this large is if the variants convert alike "
        "(null: a variant has no runs)."))
    enough_runs = serializers.BooleanField(help_text=(
        "Whether each variant expects at least 5 conversions and 5 runs without (the test's approximation holds)."))
    significant = serializers.BooleanField(help_text="enough_runs and p_value < 0.05.")
    better = serializers.ChoiceField(SPLIT_VARIANTS, allow_null=True, help_text="The variant that converts better, "
                                                                            "when the difference is significant.")
    statement = serializers.CharField(help_text="What the comparison says, in words.")


class ExperimentFiguresSerializer(serializers.Serializer):
    step = serializers.CharField(help_text="The split step's key.")
    in_definition = serializers.BooleanField(help_text="Whether the version shown has this split step.")
    variants = serializers.DictField(child=VariantFiguresSerializer(), help_text="By variant: a and b.")
    comparison = ComparisonSerializer()


class StatsSerializer(serializers.Serializer):
    automation = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="The version counted (null: all of them).")
    runs = RunFiguresSerializer()
    recovered = RecoveredFiguresSerializer()
    steps = serializers.DictField(child=StepFiguresSerializer(), help_text="By step key.")
    templates = serializers.DictField(child=TemplateFiguresSerializer(), help_text=(
        "Emails by template key (\"\": emails a step writes itself)."))
    experiments = ExperimentFiguresSerializer(many=True, help_text=(
        "Each split step's variants and whether their conversions differ significantly."))
    daily = DayFiguresSerializer(many=True, help_text="Each day of the period (UTC).")
    counted_at = serializers.DateTimeField(allow_null=True, help_text=(
        "When the tallies last counted something (the request counts what is left first)."))

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # "from" is a Python keyword: these two are named here
        fields["from"] = serializers.DateField(help_text="The period's first day (UTC).")
        fields["to"] = serializers.DateField(help_text="The period's last day (UTC), included.")
        return fields


class SentPreviewSerializer(serializers.Serializer):
    to = serializers.EmailField(help_text="Where it was sent: the user's own address.")
    subject = serializers.CharField(help_text="The subject as sent, marked [Test].")
    warnings = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                     help_text="Variables that rendered empty, by field.")
