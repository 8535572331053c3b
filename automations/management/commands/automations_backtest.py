"""``manage.py automations_backtest``: replay an automation over the stored events of a period, here
and now (no worker needed), and print what it would have done."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automations import services
from automations.api.serializers import BacktestSerializer
from automations.backtest.tasks import run_to_end
from automations.models import Automation, Backtest
from billing_events.errors import Refused


OPTIONS = {"from": "--from", "to": "--to", "version": "--version-number"}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {number}" for name, number in counts.items()) or "none"


class Command(BaseCommand):
    help = ("Backtest an automation: run its draft (or --version) over the stored events of its trigger type "
            "from --from to before --to, in virtual time and with no side effects, against the billing data as "
            "it is now, and print the counts (--json: the whole result).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("automation", type=int, help="the automation's id")
        parser.add_argument("--from", dest="start", required=True,
                            help="ISO 8601 date (UTC midnight) or date-time with an offset")
        parser.add_argument("--to", dest="end", required=True, help="ISO 8601 date (to the end of that day) or date-time")
        # (--version is Django's own: the version of Django)
        parser.add_argument("--version-number", type=int, dest="number",
                            help="the version to replay (default: the draft, else the active version)")
        parser.add_argument("--json", action="store_true", help="print the backtest as the API shows it")

    def handle(self, *args, **options) -> None:
        automation = Automation.objects.filter(pk=options["automation"]).first()
        if automation is None:
            raise CommandError(f"no automation {options['automation']}")
        try:
            backtest = services.start_backtest(automation, options["start"], options["end"],
                                               version=options["number"], queue=False)
        except Refused as exc:
            raise CommandError("; ".join(f"{OPTIONS.get(error['field'], error['field'])}: {error['message']}"
                                         for error in exc.errors)) from exc
        run_to_end(backtest.pk)
        backtest = Backtest.objects.get(pk=backtest.pk)
        if options["json"]:
            self.stdout.write(json.dumps(BacktestSerializer(backtest).data, indent=2))
        if backtest.status != "succeeded":
            raise CommandError(f"backtest {backtest.pk} {backtest.status}: {backtest.error}")
        if not options["json"]:
            self.stdout.write(self.summary(backtest))

    @staticmethod
    def summary(backtest: Backtest) -> str:
        result = backtest.result
        version = f"the draft (version {result['version']})" if result["draft"] else (
            f"version {result['version']} ({result['version_state']})")
        events = result["events"]
        lines = [
            f"Backtest {backtest.pk}: {result['name']}, {version}, {result['trigger_event']} events from "
            f"{result['period']['from']} to {result['period']['to']}",
            f"  events: {events['in_period']} in the period ({events['triggers']} triggers), "
            f"{events['exits_after_period']} exit events after it",
            f"  billing data: {result['billing_data']} (as of {result['billing_data_as_of']}). {result['note']}",
            f"  started: {result['started']}; not started: {sum(result['not_started'].values())} "
            f"({_counts(result['not_started'])})",
            f"  endings: {_counts(result['endings'])}",
            f"  actions: {_counts({name: counts['count'] for name, counts in result['actions'].items()})}",
            f"  emails: {_counts(result['emails'])}",
        ]
        for action, currencies in result["money"].items():
            amounts = ", ".join(f"{currency} {bucket['amount']} ({bucket['count']})"
                                for currency, bucket in currencies.items())
            lines.append(f"  money, {action}: {amounts}")
        return "\n".join(lines)
