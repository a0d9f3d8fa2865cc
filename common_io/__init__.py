"""The small I/O edge shared by node, hub and auditor: secret key files and bundle files.

``common`` stays pure; what must touch the file system in the same way on every side lives
here, and depends only on ``common`` and ``cryptography``.
"""
