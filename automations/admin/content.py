"""Admin for what operators edit besides automations: email templates, secrets (write-only), and the
tasks automations create. A template's and a secret's page say which automations use it, and
deleting one that a draft or active version uses is refused."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from automations.admin.usage import refused_deletion, used_by
from automations.conf import app_settings
from automations.definition import index
from automations.models import EmailTemplate, ReferenceKind, Secret, Task
from automations.template_use import problems_if_saved


class EmailTemplateForm(forms.ModelForm):
    """An edit that would break a version sending the template is refused beside its field."""

    class Meta:
        model = EmailTemplate
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            values = {field: cleaned[field] for field in ("subject", "body_text", "body_html") if field in cleaned}
            for problem in problems_if_saved(self.instance.key, values):
                self.add_error(problem["field"] if problem["field"] in values else None, problem["message"])
        return cleaned


class UsedByAdmin(SimpleHistoryAdmin):
    """An object that steps refer to: its page says which automations use it ("Used by"), and
    deleting it is refused while a draft or active version does, naming them."""

    reference_kind = ""
    delete_confirmation_template = "admin/automations/delete_used.html"

    def reference(self, obj: Any) -> str:
        """What the steps name ``obj`` by."""
        raise NotImplementedError

    @admin.display(description="used by")
    def used_by(self, obj: Any) -> str:
        return used_by(index.uses(self.reference_kind, self.reference(obj)))

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[Any]]:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, [*protected, *refused_deletion(self.reference_kind, objs)]

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None):
        obj = self.get_object(request, object_id)
        uses = index.uses(self.reference_kind, self.reference(obj)) if obj is not None else []
        return super().delete_view(request, object_id, {**(extra_context or {}),
                                                        "used_by": used_by(uses) if uses else ""})


@admin.register(EmailTemplate)
class EmailTemplateAdmin(UsedByAdmin):
    form = EmailTemplateForm
    list_display = ("key", "name", "subject", "updated_at")
    search_fields = ("key", "name", "subject")
    readonly_fields = ("used_by",)
    reference_kind = ReferenceKind.EMAIL_TEMPLATE

    def reference(self, obj: EmailTemplate) -> str:
        return obj.key


@admin.register(Task)
class TaskAdmin(SimpleHistoryAdmin):
    list_display = ("title", "assignee", "priority", "status", "due_at", "customer_id", "invoice_id", "execution")
    list_filter = ("status", "priority", "assignee")
    list_editable = ("status",)
    search_fields = ("title", "customer_id", "invoice_id")
    raw_id_fields = ("execution",)
    readonly_fields = ("idempotency_key", "created_at")


class SecretForm(forms.ModelForm):
    """The value is write-only: a password field that never shows what is stored."""

    value = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, strip=False,
                            help_text="Write-only. Leave empty to keep the stored value.")

    class Meta:
        model = Secret
        fields = ["name", "description"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("value"):
            self.add_error("value", "A new secret needs a value.")
        if cleaned.get("name") in app_settings.SECRETS:
            self.add_error("name", "This name is defined in AUTOMATIONS['SECRETS'], which wins over the table.")
        return cleaned


@admin.register(Secret)
class SecretAdmin(UsedByAdmin):
    form = SecretForm
    list_display = ("name", "description", "updated_at", "updated_by")
    search_fields = ("name", "description")
    readonly_fields = ("created_at", "updated_at", "created_by", "updated_by", "used_by")
    reference_kind = ReferenceKind.SECRET

    def reference(self, obj: Secret) -> str:
        return obj.name

    def get_fields(self, request: HttpRequest, obj: Any = None):
        return ["name", "description", "value", *(self.readonly_fields if obj else [])]

    def save_model(self, request: HttpRequest, obj: Secret, form: SecretForm, change: bool) -> None:
        if form.cleaned_data.get("value"):
            obj.set_value(form.cleaned_data["value"])
        obj.updated_by = request.user
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
