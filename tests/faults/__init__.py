"""Fault injection: a TCP proxy with injectable faults, and the randomised fault campaign."""
