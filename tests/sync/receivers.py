"""Real receivers on loopback for the notification gateways: an HTTP webhook receiver and a
small SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). They
record every delivery — duplicates included — so a test can count exactly-once."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # Idempotency-Key of every request
    delay: float = 0.0
    answers: list[int] = field(default_factory=list)  # statuses to give first, then 200
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if hook.delay:
                time.sleep(hook.delay)
            with hook.lock:
                status = hook.answers.pop(0) if hook.answers else 200
                if status == 200:
                    hook.received.append(json.loads(body))
                    hook.keys.append(self.headers.get("Idempotency-Key", ""))
            payload = json.dumps({"ref": f"prov-{len(hook.received)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_rcpt: int = 0  # 550 for RCPT while set


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", 0)

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 localhost test SMTP")
            sender, rcpts = "", []
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                verb = line.decode("ascii", "replace").strip()
                upper = verb.upper()
                if upper.startswith("EHLO"):
                    self.wfile.write(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif upper.startswith("HELO"):
                    self.reply("250 localhost")
                elif upper.startswith("MAIL FROM:"):
                    sender, rcpts = verb[10:].split()[0].strip("<>"), []
                    self.reply("250 OK")
                elif upper.startswith("RCPT TO:"):
                    if box.refuse_rcpt:
                        self.reply("550 no such user")
                        continue
                    rcpts.append(verb[8:].strip().strip("<>"))
                    self.reply("250 OK")
                elif upper == "DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    data = bytearray()
                    while True:
                        chunk = self.rfile.readline()
                        if chunk in (b".\r\n", b".\n", b""):
                            break
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    msg = message_from_bytes(bytes(data), policy=policy.default)
                    assert isinstance(msg, EmailMessage)
                    box.messages.append(msg)
                    box.envelopes.append((sender, rcpts))
                    self.reply("250 OK queued")
                elif upper in ("RSET", "NOOP"):
                    self.reply("250 OK")
                elif upper == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
