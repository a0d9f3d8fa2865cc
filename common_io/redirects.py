"""Where a page may send the browser next (``?next=`` after log-in, the language switch).

Only a path on this site: after the browser's own clean-up (it drops tabs and newlines and
reads ``\\`` as ``/``), ``/\\t/evil.example`` or ``/\\evil.example`` would leave the site,
so a target with any control character or backslash, a scheme, a host, or a leading ``//``
is refused and the caller's default used instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_LENGTH = 2000


def local_target(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``."""
    if not target or len(target) > MAX_LENGTH:
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
