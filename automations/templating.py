"""The template engine for every string an action renders (SPEC section 7).

Sandboxed Jinja2; an undefined variable is an error, never an empty string. Only the roots a
template actually uses are resolved, so a template that never mentions ``invoice`` costs no
gateway read.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from automations import clock, vault
from automations.template_limits import (TemplateLimit, check_binop, check_call, checked_filters, joined_output,
                                         static_problem, time_budget)
from automations.conf import app_settings

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


class RenderError(Exception):
    """A template could not be rendered (syntax error, undefined variable, bad filter input)."""


def to_date(value: Any) -> date | datetime:
    """A date or datetime from a date, a datetime or an ISO 8601 string."""
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
        if parsed is not None:
            return parsed
    raise RenderError(f"{value!r} is not a date")


def money(value: Any, currency: str | None = None) -> str:
    """``1250`` with ``USD`` -> ``$1,250.00``; an unknown currency is written as its code."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise RenderError(f"money: {value!r} is not an amount") from exc
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.2f}"
    if not currency:
        return f"{sign}{text}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def format_date(value: Any, fmt: str = "%b %d, %Y") -> str:
    """A date (or ISO string) in ``fmt`` (strftime)."""
    return to_date(value).strftime(fmt)


def days_until(value: Any) -> int:
    """Whole days from today (the engine's clock, UTC) to ``value``; negative once it is past."""
    target = to_date(value)
    target_day = target.date() if isinstance(target, datetime) else target
    return (target_day - clock.now().date()).days


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox (lists and dicts cannot be modified either), with every operator and call that
    could build a huge value checked first (``automations.template_limits``). Arithmetic mixing
    money (Decimal) with a literal such as ``0.1`` works in Decimal instead of failing:
    ``{{ invoice.amount_due * 0.1 }}`` is ``125.000`` for 1250.00."""

    # Intercepted operators are also never folded when a template is compiled (``7 ** 7 ** 8``
    # would otherwise be computed by the compiler itself, before any check).
    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if isinstance(left, Decimal) and isinstance(right, float):
            right = Decimal(str(right))
        elif isinstance(right, Decimal) and isinstance(left, float):
            left = Decimal(str(left))
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _blank_none(value: Any) -> Any:
    return "" if value is None else value  # a null renders as nothing (test mode warns), not "None"


def _environment(autoescape: bool) -> BoundedEnvironment:
    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True,
                             finalize=_blank_none)
    env.filters.update({"money": money, "date": format_date, "days_until": days_until})
    env.filters.update(checked_filters(env.filters))
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)


@lru_cache(maxsize=2048)
def _compile(source: str, html: bool):
    env = HTML_ENV if html else TEXT_ENV
    return env.from_string(source), frozenset(meta.find_undeclared_variables(env.parse(source)))


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def template_problem(source: str) -> str | None:
    """None when ``source`` is a valid template whose constant parts stay within the limits
    (``automations.template_limits``), else what is wrong (a syntax error names its line)."""
    if not is_template(source):
        return None
    try:
        _compile(source, False)
        return static_problem(TEXT_ENV, TEXT_ENV.parse(source))
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"template syntax error{f' on line {line}' if line else ''}: {exc.message or exc}"
    except RecursionError:
        return "the template is nested too deeply"
    except (ValueError, OverflowError) as exc:  # a literal too large for Python (a 5,000-digit number)
        return f"the template cannot be compiled: {exc}"


def referenced_roots(source: str) -> frozenset[str]:
    """The top-level variables a template reads (``{{ invoice.number }}`` -> ``{"invoice"}``)."""
    if not is_template(source):
        return frozenset()
    return _compile(source, False)[1]


def render(source: str, variables: Mapping[str, Any], *, html: bool = False) -> str:
    """Render ``source``; ``variables`` may be lazy: only the roots the template reads are looked up.
    Rendering is bounded in time and output size; going past a limit is a RenderError."""
    if not is_template(source):
        return source
    try:
        template, roots = _compile(source, html)
        values = {root: variables[root] for root in roots if root in variables}
        if "secrets" in roots:  # a reference renders as itself: values are resolved at the outbound call only
            values["secrets"] = vault.REFERENCES
        with time_budget(app_settings.RENDER_SECONDS):
            return joined_output(template.generate(values))
    except RenderError:
        raise
    except TemplateLimit as exc:
        raise RenderError(str(exc)) from exc
    except TemplateError as exc:
        raise RenderError(str(exc.message or exc)) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc
    except RecursionError as exc:
        raise RenderError("the template is nested too deeply") from exc


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON value (dicts and lists walked), leaving other types as they are."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, list):
        return [render_value(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, variables) for key, item in value.items()}
    return value


def template_fields(value: Any, path: str) -> dict[str, str]:
    """Every template inside a JSON value, by its dotted path under ``path`` (``config.headers.X``)."""
    if is_template(value):
        return {path: value}
    if isinstance(value, list):
        return {key: source for index, item in enumerate(value)
                for key, source in template_fields(item, f"{path}[{index}]").items()}
    if isinstance(value, dict):
        return {key: source for name, item in value.items()
                for key, source in template_fields(item, f"{path}.{name}").items()}
    return {}


def _variable_path(node: nodes.Node) -> str | None:
    """``customer.name`` for ``{{ customer.name }}`` (also under filters), None for anything else."""
    while isinstance(node, nodes.Filter):
        if node.name == "default":
            return None  # a fallback is given
        node = node.node
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        parent = _variable_path(node.node)
        return f"{parent}.{node.attr}" if parent else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        parent = _variable_path(node.node)
        return f"{parent}.{node.arg.value}" if parent else None
    return None


@lru_cache(maxsize=2048)
def output_variables(source: str) -> tuple[str, ...]:
    """The variables a template prints as they are (``{{ customer.name }}``, not ``{{ customer.name
    or 'there' }}``), in order, each once."""
    if not is_template(source):
        return ()
    try:
        tree = TEXT_ENV.parse(source)
    except (TemplateError, RecursionError, ValueError):
        return ()
    paths = (_variable_path(node) for output in tree.find_all(nodes.Output) for node in output.nodes
             if not isinstance(node, nodes.TemplateData))
    return tuple(dict.fromkeys(path for path in paths if path))


def empty_variables(source: str, resolve: Callable[[str], Any]) -> list[str]:
    """The variables ``source`` prints that are null or blank in the data ``resolve`` reads."""
    empty = []
    for path in output_variables(source):
        value = resolve(path)
        if value is None or (isinstance(value, str) and not value.strip()):
            empty.append(path)
    return empty
