"""Benchmark 7 on the million-record node of benchmark 4: its desk lists, plain against
encrypted, both served at once, each request sent to one then the other.

    .venv/bin/python -m bench.atrest_big --cache /tmp/dossier-bench-cache [--repeats 100]

The node is the one ``python -m bench --only 4`` builds and keeps in the cache folder (run
that first); a copy of it is encrypted as ``commune-node encrypt`` does. Prints one line
per list: p50 / p95 of each desk and the server's CPU per request.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench import bignode
from bench.core import percentile
from bench.desk import LISTS, _desk_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "dossier-bench-cache"
    )
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--intakes", type=int, default=50)
    args = parser.parse_args()
    from commune_node import vault

    built = next(args.cache.glob(f"bignode-v{bignode.VERSION}-*"), None)
    if built is None or not (built / "complete").exists():
        raise SystemExit(f"no million-record node in {args.cache}: run python -m bench --only 4")
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        plain, encrypted = Path(tmp) / "plain", Path(tmp) / "encrypted"
        for folder in (plain, encrypted):
            shutil.copytree(built, folder)
        key, recovery = vault.new_key(), vault.new_recovery_secret()
        vault.encrypt_instance(
            encrypted, encrypted / "node.sqlite3", key, recovery=recovery, officers={}
        )
        got = _desk_pair(
            {"plain": (plain, None, None), "encrypted": (encrypted, recovery, key)},
            args.intakes,
            args.repeats,
        )
    ms = 1000.0
    for name in ("intake", *LISTS):
        enc, pln = got["encrypted"][name], got["plain"][name]
        line = (
            f"{name}: encrypted p50 / p95 {percentile(enc, 50) * ms:.1f} / "
            f"{percentile(enc, 95) * ms:.1f} ms, plain {percentile(pln, 50) * ms:.1f} / "
            f"{percentile(pln, 95) * ms:.1f} ms, "
            f"p95 {percentile(enc, 95) / percentile(pln, 95):.2f}×"
        )
        if f"{name} cpu" in got["encrypted"]:
            ce = sum(got["encrypted"][f"{name} cpu"]) / len(enc)
            cp = sum(got["plain"][f"{name} cpu"]) / len(pln)
            line += f"; server CPU {ce * ms:.2f} vs {cp * ms:.2f} ms ({ce / cp:.2f}×)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
