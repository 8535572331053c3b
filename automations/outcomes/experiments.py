"""The experiments of an automation: for each split step, how the runs that took variant A and those
that took variant B did — runs ended, converted (reached the goal, or recovered money), money
recovered and time to recover — and whether the difference in conversion is more than chance would
give (a two-proportion z-test), said in words an operator can act on.

Read from the tallies (``v_runs``, ``v_conv``: counted by the fold when a run ends) and the
period's recoveries, which carry the variants their run took."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from automations.models import Recovery, TallyKind
from automations.steps.split import VARIANTS

#: The level below which a difference is called significant.
ALPHA = 0.05
#: The normal approximation the test rests on holds once each variant expects at least this many
#: conversions and as many runs without one.
MIN_EXPECTED = 5


@dataclass(frozen=True)
class Comparison:
    """Two variants' conversions compared: ``p_value`` None when either has no runs."""

    z: float | None
    p_value: float | None
    enough_runs: bool

    @property
    def significant(self) -> bool:
        return self.enough_runs and self.p_value is not None and self.p_value < ALPHA


def two_proportion_test(converted_a: int, runs_a: int, converted_b: int, runs_b: int) -> Comparison:
    """The two-sided two-proportion z-test of ``converted_a / runs_a`` against ``converted_b / runs_b``
    (pooled standard error)."""
    if not runs_a or not runs_b:
        return Comparison(None, None, False)
    pooled = (converted_a + converted_b) / (runs_a + runs_b)
    enough = all(expected >= MIN_EXPECTED for runs in (runs_a, runs_b)
                 for expected in (runs * pooled, runs * (1 - pooled)))
    error = math.sqrt(pooled * (1 - pooled) * (1 / runs_a + 1 / runs_b))
    if error == 0:  # both converted all or none: no difference to test
        return Comparison(0.0, 1.0, enough)
    z = (converted_a / runs_a - converted_b / runs_b) / error
    return Comparison(round(z, 4), round(math.erfc(abs(z) / math.sqrt(2)), 6), enough)


def experiments(totals: dict[tuple[str, str], int], recoveries: QuerySet[Recovery],
                splits: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Each split step's variants and their comparison: the splits of the definition shown
    (``splits``: key -> weights), and any other the period's tallies name (a split since removed)."""
    counted: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: {v: {"runs": 0, "converted": 0} for v in VARIANTS})
    for (kind, key), count in totals.items():
        if kind in (TallyKind.VARIANT_RUNS, TallyKind.VARIANT_CONVERTED):
            split, _, variant = key.rpartition(":")
            if variant in VARIANTS:
                counted[split][variant]["runs" if kind == TallyKind.VARIANT_RUNS else "converted"] += count
    # Only where some run took a variant: an automation without experiments reads no recoveries here.
    money = _recovered_by_variant(recoveries) if counted else {}
    found = []
    for split in [*splits, *sorted(set(counted) - set(splits))]:
        variants = {}
        for variant in VARIANTS:
            runs, converted = counted[split][variant]["runs"], counted[split][variant]["converted"]
            recovered = money.get((split, variant), _Recovered())
            variants[variant] = {"weight": (splits.get(split) or {}).get(variant), "runs": runs,
                                 "converted": converted,
                                 "conversion": round(converted / runs, 4) if runs else None,
                                 "recovered": recovered.written(), "invoices": len(recovered.seconds),
                                 "time_to_recover": recovered.times()}
        a, b = variants["a"], variants["b"]
        comparison = two_proportion_test(a["converted"], a["runs"], b["converted"], b["runs"])
        found.append({"step": split, "in_definition": split in splits, "variants": variants,
                      "comparison": {"z": comparison.z, "p_value": comparison.p_value,
                                     "enough_runs": comparison.enough_runs, "significant": comparison.significant,
                                     "better": _better(a, b) if comparison.significant else None,
                                     "statement": statement(a, b, comparison)}})
    return found


def _better(a: dict[str, Any], b: dict[str, Any]) -> str:
    return "a" if a["conversion"] > b["conversion"] else "b"


def statement(a: dict[str, Any], b: dict[str, Any], comparison: Comparison) -> str:
    """What the comparison says, in words."""
    if not a["runs"] or not b["runs"]:
        return "No runs have ended in both variants yet."
    rates = (f"A {_percent(a['conversion'])} of {a['runs']} runs, B {_percent(b['conversion'])} of {b['runs']} runs")
    if not comparison.enough_runs:
        return f"Too few runs to tell yet ({rates}): keep the experiment running."
    if comparison.significant:
        better = _better(a, b).upper()
        return (f"Variant {better} converts better ({rates}); the difference is significant at the "
                f"{ALPHA:.0%} level (p = {comparison.p_value:.3g}).")
    return (f"No significant difference yet ({rates}; p = {comparison.p_value:.3g}): "
            f"a difference this size could be chance.")


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


@dataclass
class _Recovered:
    amounts: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    seconds: list[int] = field(default_factory=list)

    def written(self) -> dict[str, str]:
        return {currency: f"{total:.2f}" for currency, total in sorted(self.amounts.items())}

    def times(self) -> dict[str, int | None]:
        ordered = sorted(self.seconds)

        def rank(share: float) -> int | None:
            return ordered[max(1, math.ceil(share * len(ordered))) - 1] if ordered else None

        return {"median": rank(0.5), "p90": rank(0.9)}


def _recovered_by_variant(recoveries: QuerySet[Recovery]) -> dict[tuple[str, str], _Recovered]:
    """The recoveries of runs that took a variant, by split and variant (only those rows are read)."""
    found: dict[tuple[str, str], _Recovered] = defaultdict(_Recovered)
    for variants, currency, amount, seconds in (recoveries.exclude(variants={}).order_by()
                                                .values_list("variants", "currency", "amount", "seconds_to_recover")):
        for split, variant in (variants or {}).items():
            found[(split, variant)].amounts[currency] += amount
            found[(split, variant)].seconds.append(seconds)
    return found
