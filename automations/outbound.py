"""The one door for outbound HTTP: a shared session, timeouts, a User-Agent, address checks, and
the classification of failures into "try again" and "give up".

Requests to private, loopback, link-local and other non-public addresses are refused unless the
host is in ``AUTOMATIONS["OUTBOUND_ALLOWED_HOSTS"]`` (hostnames, IP addresses or networks such as
``10.20.0.0/16``), so an automation cannot be pointed at the metadata service or the intranet.
An IPv4 address inside an IPv6 one (mapped, NAT64, 6to4, Teredo) is checked as well.
Redirects are not followed: a redirect could lead to an address that was never checked. The
address is checked twice: when the URL is resolved (for a clear error before anything is sent),
and on the connected socket itself, so a DNS answer that changes between the two (DNS rebinding)
cannot reach a blocked address. Proxy settings from the environment are ignored for the same reason.
"""
from __future__ import annotations

import ipaddress
import math
import socket
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from automations import clock, deadline, vault
from automations.errors import ActionError
from automations.conf import app_settings
from automations.durations import MAX_DURATION

USER_AGENT = "billing-automations/0.1"
DEFAULT_TIMEOUT = 10.0


class OutboundRefused(ActionError):
    """The destination is not allowed (never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def _allowed(host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    for entry in app_settings.OUTBOUND_ALLOWED_HOSTS:
        if entry.lower() == host.lower():
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(address in network for address in addresses):
            return True
    return False


# IPv6 prefixes whose last 32 bits are an IPv4 address that a translator (NAT64) reaches.
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped (``::ffff:a.b.c.d``), IPv4-compatible,
    NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``) and Teredo (server and client)."""
    if address.version != 6:
        return []
    found = [embedded for embedded in (address.ipv4_mapped, address.sixtofour) if embedded]
    if address.teredo:
        found.extend(address.teredo)
    if any(address in network for network in NAT64_NETWORKS) or address in IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _refusal(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> OutboundRefused | None:
    """Why ``address`` may not be called, or None. An IPv6 address carrying an IPv4 address is
    judged by both: ``[64:ff9b::7f00:1]`` is 127.0.0.1 through a NAT64 gateway."""
    reached = [address, *embedded_ipv4(address)]
    if all(each.is_global and not each.is_multicast for each in reached):
        return None
    if any(_allowed(host, [each]) for each in reached):
        return None
    return OutboundRefused(
        f"refused to call {host} ({address}): private, loopback and link-local addresses are "
        f"blocked; add the host to AUTOMATIONS['OUTBOUND_ALLOWED_HOSTS'] to allow it")


class _PeerCheck:
    """Refuse a connection whose socket ended up at a blocked address."""

    def _new_conn(self):  # type: ignore[no-untyped-def]
        sock = super()._new_conn()  # type: ignore[misc]
        refusal = _refusal(self.host, ipaddress.ip_address(sock.getpeername()[0].split("%")[0]))  # type: ignore[attr-defined]
        if refusal is not None:
            sock.close()
            raise refusal
        return sock

    def getresponse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        deadline.watch(self.sock)  # a new connection's or a kept-alive one's: the answer must come in time
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _CheckedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the checked peer must be the server
    session.headers["User-Agent"] = USER_AGENT
    session.mount("http://", _CheckedAdapter())
    session.mount("https://", _CheckedAdapter())
    return session


_session = _new_session()


def check_destination(url: str) -> None:
    """Refuse URLs that are not http(s) or that resolve to a non-public address (unless allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{url!r} is not an http(s) URL")
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ActionError(f"cannot resolve {host}: {exc}", retryable=True) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if _allowed(host, addresses):
        return
    for address in addresses:
        refusal = _refusal(host, address)
        if refusal is not None:
            raise refusal


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (a number of seconds or an HTTP
    date); None when it is absent, unparsable, in the past of the calendar, or absurd (longer than
    any duration a definition may name), as if the server had not said."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        seconds = float(value) if len(value) <= 15 else math.inf  # no float of 400 digits
    else:
        try:
            seconds = (parsedate_to_datetime(value) - clock.now()).total_seconds()
        except (TypeError, ValueError, OverflowError):
            return None
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        return None
    return max(0.0, seconds)


def _retry_after(response: requests.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


def request(method: str, url: str, *, timeout: float | None = None, secret_path: bool = False,
            **kwargs: Any) -> requests.Response:
    """Send one request; return the response if it is 2xx, else raise a classified ActionError:
    timeouts, connection errors, 5xx and 429 are retryable (429 honours Retry-After), other
    statuses are not. Error messages never show the query string, nor the path when
    ``secret_path`` (a Slack webhook's path is its credential).

    ``{{ secrets.NAME }}`` references in the URL, the headers and ``auth`` are resolved here, at
    the call, and nowhere else: what is logged or shown keeps the reference."""
    shown = _safe(url, with_path=not secret_path)
    url = vault.resolve(url)
    if kwargs.get("headers"):
        kwargs["headers"] = {name: vault.resolve(value) if isinstance(value, str) else value
                             for name, value in kwargs["headers"].items()}
    if isinstance(kwargs.get("auth"), tuple):
        kwargs["auth"] = tuple(vault.resolve(part) if isinstance(part, str) else part for part in kwargs["auth"])
    check_destination(url)
    timeout = min(float(timeout or DEFAULT_TIMEOUT), float(app_settings.ACTION_TIMEOUT_SECONDS))
    # ``timeout`` bounds each read and, through the deadline, the whole call: a server that
    # trickles its answer a byte at a time is cut off too
    with deadline.Deadline(timeout) as total:
        try:
            response = _session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            if total.expired or isinstance(exc, requests.Timeout):
                raise ActionError(f"{method} {shown} timed out after {timeout:g}s", retryable=True) from exc
            if isinstance(exc, requests.ConnectionError):
                raise ActionError(f"{method} {shown} could not connect: {type(exc).__name__}", retryable=True) from exc
            raise ActionError(f"{method} {shown} failed: {type(exc).__name__}") from exc
    if response.ok and not response.is_redirect:
        return response
    summary = f"{method} {shown} answered HTTP {response.status_code}: {response.text[:200].strip()}"
    output = {"status_code": response.status_code}
    if response.status_code == 429:
        raise ActionError(summary, retryable=True, retry_after=_retry_after(response), output=output)
    if response.status_code >= 500:
        raise ActionError(summary, retryable=True, retry_after=_retry_after(response), output=output)
    if response.is_redirect:
        raise ActionError(f"{summary} (redirects are not followed)", output=output)
    raise ActionError(summary, output=output)


def _safe(url: str, *, with_path: bool = True) -> str:
    """The URL without its query string or credentials (they may carry tokens)."""
    if vault.is_reference(url):
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path if with_path else '/…'}"
