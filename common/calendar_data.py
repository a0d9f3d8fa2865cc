"""Officially announced calendar overrides, as sample data for a node that has not yet
received the hub's own ``calendar.published`` record.

Data, not rules: the hub publishes the authoritative overrides each year (the Ministry of
Home Affairs usually announces the next year's Tết and National Day arrangements for state
employees in the autumn). Only days the ``holidays`` package does not already get right need
to be listed, but an announced swap is listed in full even where the package knows it, so
the sample does not depend on the package version (``holidays>=0.60`` is allowed; 0.109 has
the 2026 swap, and an older release may not).

2026 — Ministry of Home Affairs announcement of October 2025 (reported by Việt Nam News and
VNA on 17 Oct 2025), confident:

* Tết Bính Ngọ: off Saturday 14 to Sunday 22 February 2026 (9 days). The weekdays 16–20 Feb
  are the five statutory Tết days, which the package already gives; no swap. Nothing to add.
* National Day: off Saturday 29 August to Wednesday 2 September 2026 (5 days); Monday 31
  August is a day off in exchange for working Saturday 22 August. Listed below.
* Hùng Kings (Sunday 26 April, observed Monday 27 April) and 30 April–1 May (Thursday,
  Friday) need no override.
* 24 November (Vietnam Culture Day): the package treats it as a public holiday from 2026
  (Politburo Resolution 80-NQ/TW). NOT SURE it binds in 2026: as of February 2026 the
  Government's Resolution 30/NQ-CP still had the Labour Code amendment (Art. 112(1)) to be
  drafted. If the hub learns it is not a day off in 2026, it publishes 2026-11-24 as a
  working day; nothing is listed here either way.

2027 — no official arrangement known to this module. The package's Tết 2027 dates (Thursday
4 to Wednesday 10 February, the five statutory days with the weekend compensated) are its
rule, not an announcement; any bridge day or swapped Saturday has to come from the hub.
"""

from __future__ import annotations

from datetime import date

from common.calendar import CalendarOverrides

SAMPLE_OVERRIDES_2026 = CalendarOverrides(
    days_off=frozenset({date(2026, 8, 31)}),  # Monday off, swapped (National Day break)
    working_days=frozenset({date(2026, 8, 22)}),  # Saturday worked in exchange
)

# Nothing announced that we know of (see the module docstring); kept so callers can merge it.
SAMPLE_OVERRIDES_2027 = CalendarOverrides()

SAMPLE_OVERRIDES = SAMPLE_OVERRIDES_2026.merge(SAMPLE_OVERRIDES_2027)
