"""What every benchmark shares: the result rows, the run's settings, the same-run baselines
(raw Ed25519 verification on one core) and the description of the machine."""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench import servers


@dataclass
class Row:
    """One figure of the table."""

    bench: str  # "1. Hub ingest"
    measure: str  # what was measured
    value: str  # the figure, formatted
    baseline: str = "—"  # the same-run baseline it is compared with
    ratio: str = "—"  # value ÷ baseline (or its meaning)
    goal: str = "—"
    met: str = "—"  # yes / no / —


@dataclass
class Settings:
    smoke: bool
    work: Path  # scratch folder for instances and data
    cache: Path  # generated data kept between runs (the million-record node)
    postgres: bool  # PostgreSQL reachable
    notes: list[str] = field(default_factory=list)

    def n(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full


def verify_rate(seconds: float = 1.0, message_size: int = 600) -> float:
    """Raw Ed25519 verifications per second with ``cryptography``, one thread (one core):
    the ceiling of a hub worker that checks every signature."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    msgs = [os.urandom(message_size) for _ in range(64)]
    sigs = [key.sign(m) for m in msgs]
    pairs = list(zip(sigs, msgs, strict=True))
    done = 0
    t0 = time.perf_counter()
    while True:
        for sig, msg in pairs:
            public.verify(sig, msg)
        done += len(pairs)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return done / elapsed


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def machine() -> dict[str, str]:
    """Cores, CPU model, memory, Python, SQLite and PostgreSQL versions."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    import cryptography

    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": servers.postgres_version(),
        "cryptography": cryptography.__version__,
    }
