"""``dossier-audit verify --jobs N``: record signatures checked on N cores.

The verifier itself (``common.audit.verifier``) reads the bundle in one process, in order;
this module only runs :func:`common.audit.signatures.check_lines` over slices of the
file's log part in a process pool, ahead of it, and hands each slice's answers to the
verifier as it reaches that slice. The workers read the file themselves (only the
answers cross between processes), and at most a few slices per worker are in flight, so
memory stays bounded. Answers are hints: the verifier uses one only for the same bytes and
the same key it picks itself, so the report is the same as with one job, finding for
finding. A worker that fails leaves its slice to the verifier.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO

from common.audit.bundle import Report, Verifier
from common.audit.bundle_format import LineError
from common.audit.bundle_read import decode_line, line_kind
from common.audit.signatures import Hints, check_lines, key_table

SLICE_BYTES = 1 << 20  # about 700 record lines: some 60 ms of signature checks
LOG_KINDS = frozenset({"record", "checkpoint", "cosignature", "break", "end"})


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def read_lines(f: BinaryIO, limit: int) -> Iterator[bytes]:
    """The file's lines from where ``f`` stands; a line longer than ``limit`` bytes is cut to
    ``limit + 1`` bytes (so the verifier reports it) and the rest of it is skipped without
    being kept."""
    while True:
        line = f.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            _skip_rest(f)
        yield line


def _skip_rest(f: BinaryIO) -> None:
    while True:
        rest = f.readline(1 << 16)
        if not rest or rest.endswith(b"\n"):
            return


def _start_of_log(path: Path, limit: int) -> tuple[int, list[bytes]]:
    """Byte offset of the first line of the log part, and the lines before it."""
    head: list[bytes] = []
    with path.open("rb") as f:
        while True:
            at = f.tell()
            line = f.readline(limit + 1)
            if not line:
                return at, head
            if len(line) > limit and not line.endswith(b"\n"):
                return at, head  # an over-long line: the verifier reports it; stop guessing
            try:
                kind = line_kind(decode_line(line, max_bytes=limit))
            except LineError:
                kind = ""
            if kind in LOG_KINDS:
                return at, head
            head.append(line)


def check_slice(path: str, start: int, end: int, publics: dict[str, bytes], limit: int) -> Hints:
    """In a worker: the signature answers of the lines that start in ``[start, end)``."""
    with open(path, "rb") as f:
        f.seek(start)
        if start:
            f.seek(start - 1)
            if f.read(1) != b"\n":
                _skip_rest(f)  # the line under way belongs to the slice before
        if f.tell() >= end:
            return {}
        return check_lines(_until(f, end, limit), publics, max_bytes=limit)


def _until(f: BinaryIO, end: int, limit: int) -> Iterator[bytes]:
    while f.tell() < end:
        line = f.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            continue  # over-long lines are the verifier's
        yield line


def verify_file(path: Path, verifier: Verifier, *, jobs: int, limit: int) -> Report:
    """Feed ``verifier`` every line of the bundle at ``path``, with ``jobs`` processes
    checking record signatures ahead of it, and return its report."""
    log_at, head = _start_of_log(path, limit)
    size = path.stat().st_size
    if jobs < 2 or size - log_at < 2 * SLICE_BYTES:  # nothing worth a pool
        with path.open("rb") as f:
            for line in read_lines(f, limit):
                verifier.feed(line)
        return verifier.finish()
    publics = key_table(head, max_bytes=limit)
    bounds = iter([(a, min(a + SLICE_BYTES, size)) for a in range(log_at, size, SLICE_BYTES)])
    pool = ProcessPoolExecutor(max_workers=jobs)
    queue: deque[tuple[int, Future[Hints]]] = deque()

    def submit() -> None:
        for a, b in bounds:
            queue.append((b, pool.submit(check_slice, str(path), a, b, publics, limit)))
            return

    try:
        for _ in range(3 * jobs):
            submit()
        slice_end = log_at
        with path.open("rb") as f:
            while True:
                at = f.tell()
                while at >= slice_end and queue:
                    slice_end, future = queue.popleft()
                    try:
                        verifier.take_hints(future.result())
                    except Exception:  # the worker failed: the verifier checks these itself
                        verifier.take_hints({})
                    submit()
                line = f.readline(limit + 1)
                if not line:
                    break
                if len(line) > limit and not line.endswith(b"\n"):
                    _skip_rest(f)
                verifier.feed(line)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    verifier.take_hints({})
    return verifier.finish()
