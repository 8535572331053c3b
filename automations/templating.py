"""The template engine for every string an action renders.

Sandboxed Jinja2; an undefined variable is an error naming it (``customer.nme is not set``),
never an empty string, the same in test mode and live. A missing value may still be tested
(``{% if customer.metadata.plan %}``, ``x or 'there'``, ``x is defined``) or given a
``default(...)``. Only the roots a template actually uses are resolved, so a template that never
mentions ``invoice`` costs no gateway read.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from jinja2 import StrictUndefined, TemplateError, Undefined, UndefinedError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from automations import clock, vault
from automations.template_limits import (TemplateLimit, check_binop, check_call, checked_filters, joined_output,
                                         max_chars, static_problem, time_budget)
from automations.conf import app_settings

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


class RenderError(Exception):
    """A template could not be rendered (syntax error, undefined variable, bad filter input)."""


class MissingValue(StrictUndefined):
    """A value the data does not have: printing it, comparing it, iterating it or passing it to a
    filter other than ``default`` is an error; testing it (``if``, ``or``, ``is defined``) is
    false, and reading a field of it is missing too, so ``{% if a.b.c %}`` never fails."""
    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, name: Any) -> Any:
        return self


def _refuse_missing(value: Any) -> None:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()


def to_date(value: Any) -> date | datetime:
    """A date or datetime from a date, a datetime or an ISO 8601 string."""
    _refuse_missing(value)
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
        if parsed is not None:
            return parsed
    raise RenderError(f"{value!r} is not a date")


def money(value: Any, currency: str | None = None) -> str:
    """``1250`` with ``USD`` -> ``$1,250.00``; an unknown currency is written as its code."""
    _refuse_missing(value)
    _refuse_missing(currency)
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
    env = BoundedEnvironment(undefined=MissingValue, autoescape=autoescape, keep_trailing_newline=True,
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
    (``automations.template_limits``), else what is wrong (a syntax error names its line). A text
    longer than a render may produce is refused too, template or not: it could never be sent."""
    if isinstance(source, str) and len(source) > max_chars():
        # Said to the operator beside the field: the setting that sets it is for engineers (documented).
        return f"is {len(source):,} characters long; a text is limited to {max_chars():,} characters"
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
    except UndefinedError as exc:
        raise RenderError(missing_message(source, values) or str(exc.message or exc)) from exc
    except TemplateError as exc:
        raise RenderError(str(exc.message or exc)) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc
    except RecursionError as exc:
        raise RenderError("the template is nested too deeply") from exc


_ABSENT = object()


def _read(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(part, _ABSENT)
    if isinstance(value, (list, tuple)):
        index = int(part) if part.lstrip("-").isdigit() else None
        return value[index] if index is not None and -len(value) <= index < len(value) else _ABSENT
    return getattr(value, part, _ABSENT) if not part.startswith("_") else _ABSENT


def missing_message(source: str, values: Mapping[str, Any]) -> str | None:
    """What a template that failed on an undefined value was missing, by its dotted path:
    ``customer.nme is not set (customer has no field nme)``; None when no path it reads is missing."""
    try:
        tree = TEXT_ENV.parse(source)
    except (TemplateError, RecursionError, ValueError):
        return None
    free = meta.find_undeclared_variables(tree)
    for path in dotted_paths(tree):
        root, *parts = path.split(".")
        if root not in free:
            continue  # set or looped over inside the template
        if root not in values:
            return f"{root} is not set (this run has no {root})"
        value, walked = values[root], root
        for part in parts:
            value = _read(value, part)
            if value is _ABSENT:
                return f"{walked}.{part} is not set ({walked} has no field {part})"
            walked = f"{walked}.{part}"
    return None


def dotted_paths(tree: nodes.Node) -> list[str]:
    """The longest dotted paths a parsed template reads, in order, each once
    (``{{ steps.retry.output.code }}`` -> ``steps.retry.output.code``)."""
    found: dict[str, None] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        path = node_path(node)
        if path:
            found[path] = None
    return [path for path in found if not any(other.startswith(f"{path}.") for other in found)]


def node_path(node: nodes.Node) -> str | None:
    """``customer.name`` for the expression ``customer.name`` (or ``customer["name"]``), None for
    anything that is not a plain path from a variable."""
    parts: list[str] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, (str, int)) \
                and not isinstance(node.arg.value, bool):
            parts.append(str(node.arg.value))
        else:
            return None
        node = node.node
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return ".".join([node.name, *reversed(parts)])
    return None


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
