"""Talking to the province's integration platform (LGSP) in front of the national portal.

One ``POST`` of the dossier-sync message as JSON to ``PORTAL_URL``, with the message's
delivery key (``MaHoSo|TrangThaiHoSo|NgayCapNhat``) in the ``Idempotency-Key`` header: the
portal keeps one entry per key, so sending again after a lost answer is harmless.

Authentication is configuration: ``PORTAL_AUTH = "oauth2"`` (client credentials: a token from
``PORTAL_TOKEN_URL``, cached until shortly before it expires, fetched again when the gateway
answers 401) or ``"api_key"`` (``PORTAL_API_KEY`` in the ``X-API-Key`` header).

:meth:`PortalClient.send` returns normally when the portal took the message (2xx, or 409: it
already has that key), raises :class:`Transient` when trying again later may help (no
connection, timeout, 5xx, 408, 429, an authentication the gateway still refuses after a fresh
token) and :class:`Refused` when the portal refused the message's content (any other 4xx),
with the portal's answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

AUTH_KINDS = ("oauth2", "api_key", "none")
TOKEN_MARGIN = 30.0  # seconds before its expiry a cached token is renewed


class Transient(Exception):
    pass


class Refused(Exception):
    pass


@dataclass
class PortalClient:
    url: str
    auth: str = "oauth2"
    token_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_key: str = ""
    timeout: float = 10.0
    verify: bool | str = True
    session: requests.Session = field(default_factory=requests.Session)
    _token: str = ""
    _token_until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _fetch_token(self) -> str:
        try:
            resp = self.session.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise Transient(f"token: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise Transient(f"token endpoint answered {resp.status_code}")
        try:
            data: Any = resp.json()
            token = str(data["access_token"])
            lifetime = float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise Transient("token endpoint answered without access_token") from exc
        self._token, self._token_until = token, time.monotonic() + lifetime - TOKEN_MARGIN
        return token

    def _headers(self, key: str, *, fresh: bool) -> dict[str, str]:
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        if self.auth == "oauth2":
            with self._lock:
                token = self._token
                if fresh or not token or time.monotonic() >= self._token_until:
                    token = self._fetch_token()
            headers["Authorization"] = f"Bearer {token}"
        elif self.auth == "api_key":
            headers["X-API-Key"] = self.api_key
        return headers

    def _post(self, body: dict[str, Any], key: str, *, fresh: bool) -> requests.Response:
        try:
            return self.session.post(
                self.url,
                json=body,
                headers=self._headers(key, fresh=fresh),
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise Transient(f"portal: {type(exc).__name__}") from exc

    def send(self, body: dict[str, Any], key: str) -> None:
        resp = self._post(body, key, fresh=False)
        if resp.status_code == 401 and self.auth == "oauth2":  # token expired: renew, once
            resp = self._post(body, key, fresh=True)
        code = resp.status_code
        if 200 <= code < 300 or code == 409:  # 409: the portal already has this key
            return
        if code >= 500 or code in (401, 403, 408, 429):
            raise Transient(f"portal answered {code}")
        raise Refused(f"portal answered {code}: {resp.text[:800]}")


def from_config(config: Any) -> PortalClient | None:
    """The client from the app's settings; None when no ``PORTAL_URL`` is set (the outbox
    then holds every message)."""
    url = config.get("PORTAL_URL")
    if not url:
        return None
    auth = str(config.get("PORTAL_AUTH") or "oauth2")
    if auth not in AUTH_KINDS:
        raise ValueError(f"PORTAL_AUTH must be one of {', '.join(AUTH_KINDS)}, not {auth!r}")
    verify: bool | str = config.get("PORTAL_VERIFY_TLS", True)
    if isinstance(verify, str) and verify.lower() in ("0", "false", "no", "off"):
        verify = False
    return PortalClient(
        url=str(url),
        auth=auth,
        token_url=str(config.get("PORTAL_TOKEN_URL") or ""),
        client_id=str(config.get("PORTAL_CLIENT_ID") or ""),
        client_secret=str(config.get("PORTAL_CLIENT_SECRET") or ""),
        api_key=str(config.get("PORTAL_API_KEY") or ""),
        timeout=float(config.get("PORTAL_TIMEOUT") or 10),
        verify=verify,
    )
