"""Security tests: hostile input, access control, personal data."""
