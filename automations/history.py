"""The audit history of the apps' models (django-simple-history), made cheap to write and stamped
with the apps' clock.

simple-history reads a model's ``history`` descriptor for every historical row it writes, and the
descriptor builds a new manager class each time (``Manager.from_queryset``, which walks the
queryset class with ``inspect.getmembers``): a few hundred microseconds for every task a run
creates. The manager class depends only on the descriptor, so it is built once per model here.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.db import models
from simple_history.manager import HistoryDescriptor

from automations import clock

#: The apps whose models get the cached descriptor (never a host project's models).
OWN_APPS = ("automations", "billing_events")


class CachedHistoryDescriptor(HistoryDescriptor):
    """``Model.history``, with its manager class built once instead of at every read."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        manager_class = self.__dict__.get("_cached_manager_class")
        if manager_class is None:
            manager_class = self._cached_manager_class = self.manager_class.from_queryset(self.queryset_class)
        return manager_class(self.model, instance)


def cache_history_managers() -> None:
    """Give every historied model of the apps the cached descriptor (once the registry is ready)."""
    for app_label in OWN_APPS:
        if not apps.is_installed(app_label):
            continue
        for model in apps.get_app_config(app_label).get_models():
            for value in vars(model).values():
                if type(value) is HistoryDescriptor:
                    value.__class__ = CachedHistoryDescriptor


def stamp_with_the_apps_clock(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """A history row of the apps' models carries the time of the apps' clock (``automations.clock``),
    not the wall clock simple-history reads: retention compares it with that clock's cutoff, and
    every other moment the apps record comes from it."""
    if sender._meta.app_label in OWN_APPS:
        history_instance.history_date = clock.now()


def created_rows(records: Sequence[models.Model]) -> list[models.Model]:
    """The history rows ("+": created) of records of one model saved without them
    (``skip_history_when_saving``), as simple-history writes them, stamped with the apps' clock: for
    a caller that inserts them with its own rows, in one statement (``billing_events.sql.insert_rows``)."""
    history_model = type(records[0]).history.model
    when = clock.now()
    return [history_model(history_date=when, history_user=None, history_change_reason=None, history_type="+",
                          **{field.attname: getattr(record, field.attname) for field in history_model.tracked_fields})
            for record in records]
