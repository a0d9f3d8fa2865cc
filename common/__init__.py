"""The protocol and domain rules shared by the commune node, the hub and the auditor.

Rule of this package: it does no I/O. Nothing here opens a file, a socket or a database
session, reads the clock or imports Flask or requests. Every function takes what it needs
(bytes, keys, ``now``) as arguments, so node and hub cannot drift apart and every rule can
be property-tested on its own.
"""
