"""Admin for approval requests: the pending ones listed, each decided on its page (approve or reject
with a comment) by a user with ``automations.decide_approval``. Approving a request whose approved
way moves money (voids an invoice, charges a card) says what it moves and takes a second, explicit
confirmation naming it: one click never moves money, and a confirmation given for other words (the
invoice changed since the page was drawn) is asked again."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from automations import approvals, money
from automations.errors import StateConflict
from automations.models import ApprovalRequest, ApprovalStatus

#: What a request's timeout decides, as a person says it.
ON_TIMEOUT = {ApprovalStatus.APPROVED: "it is approved", ApprovalStatus.REJECTED: "it is rejected"}


def _moment(moment: Any) -> str:
    return date_format(localtime(moment), "DATETIME_FORMAT")


def _effects_text(effects: list[str]) -> str:
    return "; ".join(effects)


def approve_effects(request: ApprovalRequest) -> list[str]:
    """What approving ``request`` moves, read once per page (it reads the run's billing data)."""
    if not hasattr(request, "_approve_effects"):
        request._approve_effects = money.approve_effects(request)
    return request._approve_effects


class DecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(choices=[("", "Not yet"), (ApprovalStatus.APPROVED, "Approve"),
                                          (ApprovalStatus.REJECTED, "Reject")], required=False, widget=forms.RadioSelect,
                                 label="Your decision")
    confirm_money = forms.BooleanField(required=False, label="Yes, approve and move this money")
    #: The money the page showed, so that a confirmation is for what approving moves now.
    shown_effects = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = ApprovalRequest
        fields = ["comment"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.effects = approve_effects(self.instance) if self.instance.pk else []
        if self.effects:
            self.fields["confirm_money"].label = f"Yes, approve: {_effects_text(self.effects)}"
            self.fields["confirm_money"].help_text = "Approving moves this money at once; tick to confirm."
            self.initial["shown_effects"] = _effects_text(self.effects)
        else:
            del self.fields["confirm_money"]
            del self.fields["shown_effects"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") != ApprovalStatus.APPROVED or not self.effects:
            return cleaned
        if cleaned.get("shown_effects") != _effects_text(self.effects):
            self.add_error("confirm_money", f"What approving moves has changed since the page was shown: "
                                            f"{_effects_text(self.effects)}. Confirm again.")
        elif not cleaned.get("confirm_money"):
            self.add_error("confirm_money", f"Approving moves money ({_effects_text(self.effects)}): tick the box "
                                            "to confirm, or reject instead.")
        return cleaned


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    form = DecisionForm
    list_display = ("id", "ask", "status", "automation_name", "run", "customer", "amount", "asked_at",
                    "decide_by", "decided_by")
    list_filter = ("status",)
    search_fields = ("ask", "step_key")
    list_select_related = ("execution__automation", "decided_by")
    readonly_fields = ("question", "status", "run", "step", "about", "who_decides", "asked_at", "decide_by",
                       "without_decision", "decided_by", "decided_at", "approving_moves")

    class Media:
        css = {"all": ["automations/admin.css"]}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        decidable = obj is not None and self.has_change_permission(request, obj)
        decision = ("decision", "comment", *(("confirm_money", "shown_effects") if decidable and self._moves(obj) else ()))
        return [
            (None, {"fields": ("question", "status", "run", "step", "about")}),
            ("Who decides, and by when", {"fields": ("who_decides", "asked_at", "decide_by", "without_decision",
                                                     "decided_by", "decided_at")}),
            ("What approving does", {"fields": ("approving_moves",)}),
            ("Decision" if decidable else "Comment", {"fields": decision if decidable else ("comment",)}),
        ]

    def _moves(self, obj: ApprovalRequest) -> bool:
        return bool(approve_effects(obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        if obj is not None and self.has_change_permission(request, obj):
            return self.readonly_fields
        return (*self.readonly_fields, "comment")

    @admin.display(description="automation")
    def automation_name(self, obj: ApprovalRequest) -> str:
        return obj.execution.automation.name

    @admin.display(description="run")
    def run(self, obj: ApprovalRequest) -> str:
        url = reverse("admin:automations_execution_change", args=[obj.execution_id])
        return format_html("<a href='{}'>#{}</a> ({})", url, obj.execution_id, obj.execution.get_status_display())

    @admin.display(description="step")
    def step(self, obj: ApprovalRequest) -> str:
        return format_html("<code class='ab-key'>{}</code>", obj.step_key)

    @admin.display(description="customer")
    def customer(self, obj: ApprovalRequest) -> str:
        customer = (obj.details or {}).get("customer") or {}
        return customer.get("name") or customer.get("id") or ""

    @admin.display(description="amount")
    def amount(self, obj: ApprovalRequest) -> str:
        invoice = (obj.details or {}).get("invoice") or {}
        amount = invoice.get("amount_due", invoice.get("total"))
        return f"{amount} {invoice.get('currency', '')}".strip() if amount is not None else ""

    @admin.display(description="about")
    def about(self, obj: ApprovalRequest) -> str:
        """The customer and invoice in words; everything the request holds below, for engineers."""
        details = obj.details or {}
        customer = details.get("customer") or {}
        invoice = details.get("invoice") or {}
        lines = [(label, value) for label, value in (
            ("Customer", customer.get("name") or customer.get("email") or customer.get("id")),
            ("Invoice", invoice.get("number") or invoice.get("id")),
            ("Amount due", self.amount(obj)), ("Invoice status", invoice.get("status"))) if value]
        return format_html("{}<details><summary>Everything the request holds</summary><pre class='ab-pre'>{}</pre>"
                           "</details>", format_html_join("", "<p>{}: {}</p>", lines),
                           json.dumps(details, indent=2))

    @admin.display(description="who may decide")
    def who_decides(self, obj: ApprovalRequest) -> str:
        approvers = obj.approvers or {}
        permission = approvers.get("permission") or approvals.DECIDE_PERMISSION
        groups = approvers.get("groups") or []
        who = "users allowed to decide approvals" + (f", in the group {' or '.join(groups)}" if groups else "")
        return format_html("{} <code class='ab-key'>{}</code>", who, permission)

    @admin.display(description="question")
    def question(self, obj: ApprovalRequest) -> str:
        return obj.ask

    @admin.display(description="asked", ordering="created_at")
    def asked_at(self, obj: ApprovalRequest) -> str:
        return _moment(obj.created_at)

    @admin.display(description="decide by", ordering="expires_at")
    def decide_by(self, obj: ApprovalRequest) -> str:
        return _moment(obj.expires_at) if obj.expires_at else "no deadline"

    @admin.display(description="without a decision")
    def without_decision(self, obj: ApprovalRequest) -> str:
        if not obj.expires_at:
            return "the run waits until someone decides"
        return f"at its deadline {ON_TIMEOUT.get(obj.on_timeout, 'it times out')}"

    @admin.display(description="approving moves")
    def approving_moves(self, obj: ApprovalRequest) -> str:
        if obj.status != ApprovalStatus.PENDING:
            return "— (decided)"
        effects = approve_effects(obj)
        if not effects:
            return "No money, before the run's next wait."
        return format_html("<ul class='ab-moves'>{}</ul>", format_html_join("", "<li>{}</li>",
                                                                            ((effect,) for effect in effects)))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(approvals.DECIDE_PERMISSION)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or request.user.has_perm(approvals.DECIDE_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # "change" is deciding: a pending request, by someone the step lets decide it
        if obj is None:
            return request.user.has_perm(approvals.DECIDE_PERMISSION)
        return obj.status == ApprovalStatus.PENDING and approvals.may_decide(request.user, obj)

    def response_change(self, request: HttpRequest, obj: ApprovalRequest) -> HttpResponse:
        # Django's "… (pending) was changed successfully" would name the request as the page showed
        # it, before the decision: say what it is now instead.
        obj.refresh_from_db()
        if obj.status == ApprovalStatus.PENDING:
            self.message_user(request, "Nothing decided: the request is still pending.", messages.INFO)
        else:
            by = f" by {obj.decided_by}" if obj.decided_by else ""
            self.message_user(request, f"{obj.get_status_display()}{by}: {obj.ask} The run goes on at once.",
                              messages.SUCCESS)
        if "_continue" in request.POST:
            return HttpResponseRedirect(request.path)
        return self.response_post_save_change(request, obj)

    def save_model(self, request: HttpRequest, obj: ApprovalRequest, form: DecisionForm, change: bool) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision:
            return  # nothing decided: the request stays as it was
        try:
            approvals.decide(ApprovalRequest.objects.get(pk=obj.pk), request.user, decision,
                             form.cleaned_data.get("comment", ""))
        except (PermissionDenied, StateConflict) as exc:
            messages.error(request, str(exc))
