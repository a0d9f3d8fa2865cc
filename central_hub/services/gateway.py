"""Delivering a citizen notification: one small interface and two adapters.

* :class:`WebhookGateway` — SMS and Zalo go to the provider's HTTP API (or a relay in front of
  it): ``POST`` of a JSON object with an ``Idempotency-Key`` header equal to the message id.
  The provider must treat a repeated key as the same message; that is what makes a retry
  after an unknown outcome (timeout, hub crash) deliver exactly once.
* :class:`SmtpGateway` — e-mail over SMTP (stdlib ``smtplib``), with ``Message-ID`` derived
  from the message id, so a repeated send is recognisable as the same message.

A gateway either returns the provider's reference, or raises :class:`TemporaryFailure` (try
again later: no connection, timeout, 5xx, SMTP 4xx) or :class:`PermanentFailure` (the provider
refused the message: 4xx, SMTP 5xx — retrying cannot help).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import requests


@dataclass(frozen=True)
class Outgoing:
    id: str
    channel: str  # sms | zalo | email
    to: str
    subject: str
    text: str  # Vietnamese with diacritics
    text_ascii: str  # the SMS form


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class Gateway(Protocol):
    def send(self, message: Outgoing) -> str:
        """Deliver ``message``; return the provider's reference."""
        ...


@dataclass
class WebhookGateway:
    url: str
    token: str = ""
    timeout: float = 10.0

    def send(self, message: Outgoing) -> str:
        body = {
            "id": message.id,
            "channel": message.channel,
            "to": message.to,
            # SMS travels without diacritics (one GSM-7 part); Zalo keeps them.
            "text": message.text_ascii if message.channel == "sms" else message.text,
        }
        headers = {"Idempotency-Key": message.id, "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = requests.post(
                self.url, json=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise TemporaryFailure(f"webhook: {type(exc).__name__}") from exc
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise TemporaryFailure(f"webhook answered {resp.status_code}")
        if resp.status_code == 409:  # the provider already has this idempotency key
            return _ref(resp) or message.id
        if resp.status_code >= 300:
            raise PermanentFailure(f"webhook refused: {resp.status_code}")
        return _ref(resp) or message.id


def _ref(resp: requests.Response) -> str:
    try:
        data: Any = resp.json()
    except ValueError:
        return ""
    return str(data.get("ref") or data.get("id") or "")[:100] if isinstance(data, dict) else ""


@dataclass
class SmtpGateway:
    host: str
    port: int = 25
    sender: str = "no-reply@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0

    def message_id(self, message: Outgoing) -> str:
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<{message.id}@{domain}>"

    def send(self, message: Outgoing) -> str:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = self.message_id(message)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text + "\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure("smtp: recipient refused") from exc
            raise TemporaryFailure("smtp: recipient deferred") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"smtp refused: {exc.smtp_code}") from exc
            raise TemporaryFailure(f"smtp deferred: {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"smtp: {type(exc).__name__}") from exc
        return self.message_id(message)


def from_config(config: Any) -> dict[str, Gateway]:
    """Gateways by channel from the app's settings (a channel without one waits)."""
    out: dict[str, Gateway] = {}
    timeout = float(config.get("NOTIFY_TIMEOUT") or 10)
    url = config.get("NOTIFY_WEBHOOK_URL")
    if url:
        hook = WebhookGateway(str(url), str(config.get("NOTIFY_WEBHOOK_TOKEN") or ""), timeout)
        out["sms"] = out["zalo"] = hook
    host = config.get("NOTIFY_SMTP_HOST")
    if host:
        out["email"] = SmtpGateway(
            host=str(host),
            port=int(config.get("NOTIFY_SMTP_PORT") or 25),
            sender=str(config.get("NOTIFY_SMTP_FROM") or "no-reply@localhost"),
            username=str(config.get("NOTIFY_SMTP_USER") or ""),
            password=str(config.get("NOTIFY_SMTP_PASSWORD") or ""),
            starttls=bool(config.get("NOTIFY_SMTP_STARTTLS")),
            timeout=timeout,
        )
    return out
