""""Used by" in the admin: the automations (linked) and versions whose steps send an email template,
reference a secret or call a host, read from the index of the steps (``automations.definition.index``)."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from automations.definition import index
from automations.definition.index import Use
from automations.models import ReferenceKind

NOT_USED = "No draft or active version uses it."


def _automation_link(use: Use) -> SafeString:
    return format_html("<a href='{}'>{}</a>", reverse("admin:automations_automation_change", args=[use.automation_id]),
                       use.automation_name)


def used_by(uses: list[Use], *, values: bool = False) -> SafeString:
    """A list of the versions in ``uses``: the automation (linked), the version, its steps (and
    with ``values``, what it uses there: a host's origins)."""
    if not uses:
        return format_html("{}", NOT_USED)
    items = format_html_join(
        "", "<li>{} v{} ({}): step{} {}{}</li>",
        ((_automation_link(use), use.number, use.state, "s" if len(use.steps) > 1 else "", ", ".join(use.steps),
          f" — {', '.join(use.values)}" if values else "") for use in uses))
    return format_html("<ul class='ab-used-by'>{}</ul>", items)


def refused_deletion(kind: str, objs: Any) -> list[SafeString]:
    """For the delete confirmation: one line per object of ``objs`` that a draft or active version
    uses (``kind`` is its ReferenceKind; the object's key or name is what steps name)."""
    lines = []
    for obj in objs:
        uses = index.uses(kind, obj.key if kind == ReferenceKind.EMAIL_TEMPLATE else obj.name)
        if uses:
            lines.append(format_html("{} “{}” is used by {}: change those steps first", obj._meta.verbose_name,
                                     obj, format_html_join(", ", "{} v{} ({})",
                                                           ((_automation_link(use), use.number, use.state)
                                                            for use in uses))))
    return lines


class CallsHostFilter(admin.SimpleListFilter):
    """The automations whose draft or active version calls a host."""

    title = "calls host"
    parameter_name = "calls"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(host, host) for host in index.hosts()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(pk__in=index.automation_ids_using(ReferenceKind.ORIGIN, self.value()))
        return queryset
