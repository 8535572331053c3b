"""How a step's config is shown: what in it is secret, masked.

The one rule, used wherever a config is shown (API, admin, step log, test mode, history rows):
an action's ``secret_fields``; every header not on a short safe list; in any URL, the credentials
(``user:pass@``) and every query value not on a short safe list. A ``{{ secrets.NAME }}``
reference is shown as it is: it holds no secret.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from automations.vault import is_reference

MASK = "********"
SAFE_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "cache-control", "content-language",
                          "content-type", "user-agent", "webhook-id", "webhook-timestamp"})
SAFE_QUERY_PARAMETERS = frozenset({"format", "lang", "limit", "locale", "offset", "order", "page", "per_page",
                                   "sort"})

def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def _mask_pairs(text: str) -> str:
    pairs = []
    for pair in text.split("&"):
        name, equals, value = pair.partition("=")
        if equals and value and unquote(name).lower() not in SAFE_QUERY_PARAMETERS and not is_reference(unquote(value)):
            value = MASK
        pairs.append(f"{name}{equals}{value}")
    return "&".join(pairs)


def mask_url(url: str) -> str:
    """``url`` with its credentials and query values (but safe ones) masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = _mask_pairs(parts.query) if parts.query else ""
    fragment = _mask_pairs(parts.fragment) if "=" in parts.fragment else parts.fragment
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if parts.query else "")
            + (f"#{fragment}" if parts.fragment else ""))


def mask_header(name: str, value: Any) -> Any:
    """A header's value as shown: kept for the safe list, references and empty values, else masked."""
    if str(name).lower() in SAFE_HEADERS or not value or is_reference(value):
        return value
    return MASK


def mask_config(config: dict[str, Any], secret_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of a step's ``config`` as it may be shown."""
    shown: dict[str, Any] = {}
    for name, value in config.items():
        if name in secret_fields and value and not is_reference(value):
            value = MASK
        elif name == "headers" and isinstance(value, dict):
            value = {header: mask_header(header, item) for header, item in value.items()}
        elif is_url(value):
            value = mask_url(value)
        shown[name] = value
    return shown
