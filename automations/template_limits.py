"""Bounds on template evaluation, so that no template can hang a worker or fill its memory.

Sizes are checked *before* each operation that could make something huge (``7 ** 7 ** 8``,
``'x' * 10 ** 10``, ``'x'.ljust(10 ** 10)``, ``'%9999999999d' % 1``): a single huge allocation is
one C call that no timer can interrupt. Everything else (loops) is bounded by a wall-clock budget
per render and a cap on the rendered text. When a definition is saved, the same checks run over
the template's constant parts (folding the constant expressions of Jinja's syntax tree), so what
can be seen without data is refused then, never at run time.
"""
from __future__ import annotations

import functools
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import nodes

from automations.conf import app_settings

#: Integers past this many bits (about 1,200 digits) are refused: no amount or count needs more.
MAX_INT_BITS = 4096
#: Constant loops (``range(...)`` nested in ``range(...)``) may run at most this many times in all.
MAX_STATIC_ITERATIONS = 100_000
WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:((?:[^{}]|\{[^{}]*\})*)\}")


class TemplateLimit(Exception):
    """A template went past a limit: too large a number or text, or too long a render."""


def max_chars() -> int:
    return int(app_settings.RENDER_MAX_CHARS)


def _integer(value: Any) -> bool:
    return isinstance(value, int)


def _sequence(value: Any) -> bool:
    return isinstance(value, (str, list, tuple))


def check_size(size: int, what: str) -> None:
    if size > max_chars():
        raise TemplateLimit(f"{what} would be {size:,} long; templates are limited to "
                            f"{max_chars():,} (AUTOMATIONS['RENDER_MAX_CHARS'])")


def check_width(value: Any, what: str = "a width") -> None:
    if _integer(value):
        check_size(value, what)


def check_format(text: str) -> None:
    """Field widths and precisions of ``%`` and ``str.format`` strings stay within the size limit."""
    for match in _PERCENT_SPEC.finditer(text):
        for number in match.groups():
            if number == "*":
                raise TemplateLimit("a width taken from the arguments ('%*d') is not allowed in templates")
            if number and (len(number) > 9 or int(number) > max_chars()):
                check_size(10 ** 9 if len(number) > 9 else int(number), "a formatted field")
    for spec in _BRACE_SPEC.findall(text):
        if "{" in spec:
            raise TemplateLimit("a width taken from the arguments ('{:{}}') is not allowed in templates")
        for number in re.findall(r"\d+", spec):
            check_size(10 ** 9 if len(number) > 9 else int(number), "a formatted field")


def check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    found = text.count(old) if old else len(text) + 1
    if _integer(count) and count >= 0:
        found = min(found, count)
    check_size(len(text) + found * (len(new) - len(old)), "the replaced text")


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an arithmetic operation whose result would be too large, before it is computed."""
    if operator == "**" and _integer(left) and _integer(right) and right > 0 and abs(left) > 1:
        if abs(left).bit_length() * right > MAX_INT_BITS:
            raise TemplateLimit(f"{left} ** {right} is too large a number")
    elif operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if _sequence(sequence) and _integer(times):
                check_size(len(sequence) * times, "the repeated text or list")
        if _integer(left) and _integer(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimit(f"{left} * {right} is too large a number")
    elif operator == "+" and _sequence(left) and _sequence(right):
        check_size(len(left) + len(right), "the joined text or list")
    elif operator == "%" and isinstance(left, str):
        check_format(left)


def check_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of a text method that would build a huge string (``'x'.ljust(10 ** 10)``)."""
    target = getattr(func, "__wrapped__", func)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in WIDTH_METHODS:
        for value in (*args, *kwargs.values()):
            check_width(value, f"the result of {name}()")
    elif name == "replace":
        check_replace(owner, *args[:3])
    elif name in ("format", "format_map"):
        check_format(owner)


def _checked_filter(func: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    """``func`` (a Jinja filter) with ``check`` run on its arguments first."""
    @functools.wraps(func)  # keeps Jinja's pass_eval_context / pass_environment marks
    def checked(*args: Any, **kwargs: Any) -> Any:
        check(*(args[1:] if getattr(func, "jinja_pass_arg", None) is not None else args), **kwargs)
        return func(*args, **kwargs)

    return checked


FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": lambda value, width=80, **kw: check_width(width, "the centred text"),
    "indent": lambda text, width=4, *args, **kw: check_size(
        len(str(text)) + (str(text).count("\n") + 1) * (width if _integer(width) else len(str(width))),
        "the indented text"),
    "format": lambda value, *args, **kw: check_format(str(value)),
    "replace": lambda text, old, new, count=None, **kw: check_replace(str(text), str(old), str(new), count),
    "batch": lambda value, linecount, *args, **kw: check_width(linecount, "a batch"),
    "slice": lambda value, slices, *args, **kw: check_width(slices, "a slice"),
}


def checked_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The filters that take a size, wrapped with their checks."""
    return {name: _checked_filter(filters[name], check) for name, check in FILTER_CHECKS.items() if name in filters}


def joined_output(chunks: Iterable[str]) -> str:
    """The rendered chunks joined, refusing output past the size limit as soon as it gets there."""
    parts, size, limit = [], 0, max_chars()
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TemplateLimit(f"the rendered text is longer than {limit:,} characters "
                                f"(AUTOMATIONS['RENDER_MAX_CHARS'])")
        parts.append(chunk)
    return "".join(parts)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Within the block, template code (this thread's only) that runs longer than ``seconds``
    raises TemplateLimit. A trace function sees every line of the compiled template, loops
    included, in whatever thread renders (a worker, or a web request in test mode), without
    signals; code that is not the template's is not traced line by line."""
    deadline = time.monotonic() + seconds

    def lines(frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and time.monotonic() > deadline:
            raise TemplateLimit(f"rendering took longer than {seconds:g}s (AUTOMATIONS['RENDER_SECONDS'])")
        return lines

    def calls(frame: Any, event: str, arg: Any) -> Any:
        return lines if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield
    finally:
        sys.settrace(previous)


# --- at save time -------------------------------------------------------------------------------


class _NotConstant(Exception):
    """The expression depends on data (or cannot be evaluated without it)."""


def _fold(env: Any, node: nodes.Node) -> Any:
    """The value of a constant expression, computed under the same checks as at run time."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return [_fold(env, item) for item in node.items]
    if isinstance(node, nodes.BinExpr):
        left, right = _fold(env, node.left), _fold(env, node.right)
        check_binop(node.operator, left, right)
        return _evaluate(env.binop_table[node.operator], left, right)
    if isinstance(node, nodes.UnaryExpr):
        return _evaluate(env.unop_table[node.operator], _fold(env, node.node))
    if isinstance(node, nodes.Concat):
        text = "".join(str(_fold(env, item)) for item in node.nodes)
        check_size(len(text), "the joined text")
        return text
    if isinstance(node, nodes.Call):
        args = [_fold(env, arg) for arg in node.args]
        kwargs = {keyword.key: _fold(env, keyword.value) for keyword in node.kwargs}
        if node.dyn_args or node.dyn_kwargs:
            raise _NotConstant
        if isinstance(node.node, nodes.Name) and node.node.name == "range":
            return _evaluate(env.globals["range"], *args)
        if isinstance(node.node, nodes.Getattr):
            method = env.getattr(_fold(env, node.node.node), node.node.attr)
            check_call(method, tuple(args), kwargs)
            return _evaluate(method, *args, **kwargs)
        raise _NotConstant
    if isinstance(node, nodes.Filter) and node.node is not None:
        func = env.filters.get(node.name)
        pass_arg = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
        if func is None or pass_arg == "context" or node.dyn_args or node.dyn_kwargs:
            raise _NotConstant
        args = [_fold(env, node.node), *(_fold(env, arg) for arg in node.args)]
        kwargs = {keyword.key: _fold(env, keyword.value) for keyword in node.kwargs}
        if pass_arg == "eval_context":
            args.insert(0, nodes.EvalContext(env))
        elif pass_arg == "environment":
            args.insert(0, env)
        return _evaluate(func, *args, **kwargs)
    raise _NotConstant


def _evaluate(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except TemplateLimit:
        raise
    except Exception as exc:  # an error that depends on nothing but the template shows at run time
        raise _NotConstant from exc


def _check_loops(env: Any, node: nodes.Node, runs: int) -> None:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.For):
            try:
                count = len(_fold(env, child.iter))
            except (_NotConstant, TypeError):
                count = 1  # a loop over data: bounded by the data and the time budget
            if runs * count > MAX_STATIC_ITERATIONS:
                raise TemplateLimit(f"its loops would run {runs * count:,} times; at most "
                                    f"{MAX_STATIC_ITERATIONS:,} are allowed")
            _check_loops(env, child, runs * count)
        else:
            _check_loops(env, child, runs)


def static_problem(env: Any, tree: nodes.Template) -> str | None:
    """The first limit the template's constant parts break, or None."""
    try:
        for node in tree.find_all((nodes.BinExpr, nodes.Call, nodes.Filter, nodes.Concat)):
            try:
                _fold(env, node)
            except _NotConstant:
                pass
        _check_loops(env, tree, 1)
    except TemplateLimit as exc:
        return str(exc)
    return None
