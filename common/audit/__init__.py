"""The independent auditor: the audit bundle format and its offline verifier, trusting no hub."""
