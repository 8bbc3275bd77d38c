"""Only this computer's browser may drive the dashboard: a guard in front of the Solara app.

The dashboard starts runs, so a page on another site must not be able to talk to it (cross-site
requests and websockets carry that site's ``Origin``), nor a name that resolves to this computer
by trickery (DNS rebinding: the browser sends that name as ``Host``). :class:`OriginGuard` refuses
every HTTP request (403) and websocket (closed before it opens) whose ``Host`` is not the served
address or whose ``Origin``, when the browser sends one, is not a page of that address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    """True for an address (or ``localhost``) that only this computer can reach."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The ``Host`` header values the dashboard answers (None: any, when listening on every address)."""
    if is_loopback(host):
        names = set(LOOPBACK_NAMES)
    elif host in ("0.0.0.0", "::", ""):
        return None
    else:
        names = {f"[{host}]" if ":" in host else host}
    return {f"{n}:{port}" for n in names} | (names if port == 80 else set())


class OriginGuard:
    """ASGI middleware: pass a request on only if its ``Host`` is served here and its ``Origin`` (if
    any) is a page of that same host; otherwise 403 (HTTP) or a refused websocket."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.app = app
        self.hosts = allowed_hosts(host, port)

    def allows(self, headers: dict[bytes, bytes]) -> bool:
        """Whether a request with these headers may reach the dashboard."""
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if not host or (self.hosts is not None and host not in self.hosts):
            return False
        origin = headers.get(b"origin")
        return origin is None or origin.decode("latin-1").lower() in (f"http://{host}", f"https://{host}")

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] not in ("http", "websocket") or self.allows(dict(scope.get("headers") or [])):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"tuopin dashboard: refused (Host or Origin is not this computer's dashboard address)\n"
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
