"""Admin for what operators edit besides automations: email templates, and the tasks automations create."""
from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from automations.models import EmailTemplate, Task


@admin.register(EmailTemplate)
class EmailTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("key", "name", "subject", "updated_at")
    search_fields = ("key", "name", "subject")


@admin.register(Task)
class TaskAdmin(SimpleHistoryAdmin):
    list_display = ("title", "assignee", "priority", "status", "due_at", "customer_id", "invoice_id", "execution")
    list_filter = ("status", "priority", "assignee")
    list_editable = ("status",)
    search_fields = ("title", "customer_id", "invoice_id")
    raw_id_fields = ("execution",)
    readonly_fields = ("idempotency_key", "created_at")
