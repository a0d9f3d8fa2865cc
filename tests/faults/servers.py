"""The loopback WSGI server the fault tests use: :class:`tests.support.ThreadServer`."""

from tests.support import ThreadServer, serve

__all__ = ["ThreadServer", "serve"]
