"""Which model endpoints may receive the user's credentials.

Credentials follow the user, not the spec: an ``api_base`` written in a spec (which may come
from someone else) never receives an API key from the environment.  An endpoint gets the
user's keys only when the user named it themselves: ``--api-base URL`` on the command line,
or listed in ``AUCTIONC_TRUSTED_API_BASES`` (comma-separated URLs, the user's own
configuration).  A loopback endpoint (a server on this machine, such as ``auctionc
serve-model``) is called with a placeholder key, never a real one.

Loopback is decided from the parsed address, in every spelling the system resolver accepts:
``localhost`` (with or without a final dot), 127.0.0.0/8 however written (``127.1``,
``2130706433``, ``0x7f000001``, octal parts), ``::1`` and IPv4-mapped ``::ffff:127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from auctionc.diagnostics import Diagnostic
from auctionc.errors import PlanError

TRUST_ENV = "AUCTIONC_TRUSTED_API_BASES"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``host`` denotes, in the spellings ``ipaddress`` and the resolver's
    ``inet_aton`` accept (dotted, shortened, integer, hex and octal IPv4); None for names."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host.isdigit():
        try:
            return ipaddress.ip_address(int(host))
        except ValueError:
            return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_loopback(api_base: str | None) -> bool:
    """True when ``api_base`` is an http(s) URL whose host is this machine's loopback."""
    if not api_base:
        return False
    try:
        parts = urlsplit(api_base)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    addr = _address(host)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def normalize(url: str) -> str:
    """An endpoint in one spelling, for comparing the spec's with the user's: scheme and host
    lower-cased, the default port made explicit, no trailing slash."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").rstrip(".")
    return f"{parts.scheme.lower()}://{host}:{port}{parts.path.rstrip('/')}"


def trusted_bases(cli_api_base: str | None) -> set[str]:
    """The endpoints the user trusts with their keys: the command line's and the allow-list."""
    out = {normalize(u) for u in os.environ.get(TRUST_ENV, "").split(",") if u.strip()}
    if cli_api_base:
        out.add(normalize(cli_api_base))
    return out


def check_endpoint(api_base: str | None, cli_api_base: str | None, *, who: str) -> None:
    """Refuse, before any call, an endpoint the spec names that is neither loopback nor
    trusted by the user: it would otherwise receive the user's API key."""
    if api_base is None or is_loopback(api_base) or normalize(api_base) in trusted_bases(cli_api_base):
        return
    raise PlanError(Diagnostic(
        "E0812",
        f"{who} sends model calls to {api_base}, an endpoint named by the spec that you have not trusted "
        "with your API keys",
        help=f"if you trust it, pass --api-base {api_base} or add it to {TRUST_ENV} (comma-separated); "
        "keys from the environment are never sent to an endpoint only a spec names",
    ))


def server_reachable(api_base: str, timeout: float = 2.0) -> bool:
    u = urlsplit(api_base)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 80), timeout=timeout):
            return True
    except OSError:
        return False
