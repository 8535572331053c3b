"""Admin for approval requests: the pending ones listed, each decided on its page (approve or reject
with a comment) by a user with ``automations.decide_approval``."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.html import format_html

from automations import approvals
from automations.errors import StateConflict
from automations.models import ApprovalRequest, ApprovalStatus


class DecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(choices=[("", "(undecided)"), (ApprovalStatus.APPROVED, "Approve"),
                                          (ApprovalStatus.REJECTED, "Reject")], required=False)

    class Meta:
        model = ApprovalRequest
        fields = ["comment"]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    form = DecisionForm
    list_display = ("id", "ask", "status", "automation_name", "execution", "customer", "amount", "created_at",
                    "expires_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("ask", "step_key")
    list_select_related = ("execution__automation", "decided_by")
    readonly_fields = ("ask", "status", "execution", "step_key", "about", "approvers", "created_at", "expires_at",
                       "on_timeout", "decided_by", "decided_at")

    def get_fields(self, request: HttpRequest, obj: Any = None):
        decidable = obj is not None and self.has_change_permission(request, obj)
        return [*self.readonly_fields, *(("decision", "comment") if decidable else ("comment",))]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        if obj is not None and self.has_change_permission(request, obj):
            return self.readonly_fields
        return (*self.readonly_fields, "comment")

    @admin.display(description="automation")
    def automation_name(self, obj: ApprovalRequest) -> str:
        return obj.execution.automation.name

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
        return format_html("<pre>{}</pre>", json.dumps(obj.details or {}, indent=2))

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

    def save_model(self, request: HttpRequest, obj: ApprovalRequest, form: DecisionForm, change: bool) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision:
            return  # nothing decided: the request stays as it was
        try:
            approvals.decide(ApprovalRequest.objects.get(pk=obj.pk), request.user, decision,
                             form.cleaned_data.get("comment", ""))
        except (PermissionDenied, StateConflict) as exc:
            messages.error(request, str(exc))
