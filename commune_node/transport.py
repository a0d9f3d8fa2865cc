"""How the node reaches the hub: one small interface, a real HTTP client, and an in-process
fake for tests of the sync loop without a network.

Errors say whether trying again later can help: :class:`LinkError` (no route, timeout,
connection cut, 5xx) is retryable; an answer with a 4xx status is the hub's decision and is
returned to the caller, which reads its error code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from common.errors import DossierError


class LinkError(DossierError):
    code = "no_link"
    status = 503
    retryable = True
    vi = "Không kết nối được tới máy chủ cấp trên."
    en = "The hub cannot be reached."


class HubBusy(LinkError):
    """The hub answered ``503`` with ``Retry-After``: it is busy and said when to come back.
    Nothing of the request was stored; the next sync waits that long (plus jitter)."""

    code = "hub_busy"
    vi = "Máy chủ cấp trên đang bận; nút sẽ tự gửi lại sau ít phút."
    en = "The hub is busy; the node will send again shortly by itself."

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after


def busy_after(status: int, headers: dict[str, str]) -> float | None:
    """The seconds a ``503`` answer's ``Retry-After`` asks for, or None (not a busy answer)."""
    if status != 503:
        return None
    value = headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 1.0), 600.0)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Transport(Protocol):
    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        """Send one request. Raises LinkError when no answer came back (retryable)."""
        ...


@dataclass
class HttpTransport:
    """requests over HTTP(S) with a connect and a read timeout; no automatic retries."""

    base_url: str
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    session: requests.Session = field(default_factory=requests.Session)

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        url = self.base_url.rstrip("/") + path
        try:
            r = self.session.request(
                method,
                url,
                data=body or None,
                headers=headers or {},
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
            )
            content = r.content
        except requests.RequestException as exc:
            raise LinkError(f"{type(exc).__name__} talking to the hub") from exc
        busy = busy_after(r.status_code, dict(r.headers))
        if busy is not None:
            raise HubBusy(busy)
        if r.status_code >= 500:
            raise LinkError(f"the hub answered {r.status_code}", status_code=r.status_code)
        if "Content-Length" not in r.headers and "chunked" not in r.headers.get(
            "Transfer-Encoding", ""
        ):
            # The hub always says how long its answer is; without that, the connection was
            # cut inside the headers and what arrived is not the whole answer.
            raise LinkError("the hub's answer was cut off")
        return Response(r.status_code, dict(r.headers), content)


@dataclass
class FlaskTransport:
    """A fake link straight into a hub app's test client (no sockets)."""

    client: Any
    down: bool = False

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        if self.down:
            raise LinkError("the fake link is down")
        r = self.client.open(path, method=method, data=body, headers=headers or {})
        busy = busy_after(r.status_code, dict(r.headers))
        if busy is not None:
            raise HubBusy(busy)
        if r.status_code >= 500:
            raise LinkError(f"the hub answered {r.status_code}")
        return Response(r.status_code, dict(r.headers), r.get_data())
