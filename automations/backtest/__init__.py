"""Backtest: an automation's draft or version replayed over the stored events of its
trigger type in a period, in virtual time and with no side effects, against the billing data as
it is now. ``events`` pages the events, ``replay`` runs them, ``tally`` counts, ``tasks`` runs a
stored :class:`~automations.models.Backtest` on the worker cluster."""
