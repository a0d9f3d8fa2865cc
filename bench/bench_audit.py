"""How fast does ``dossier-audit verify`` check a bundle, against raw Ed25519 verification?

Builds N records (default 20,000) from a handful of commune nodes, logs them in an
in-memory RFC 9162 tree with a signed checkpoint per push (as the hub does), writes the
bundle, then times, in the same run and on one core:

* raw Ed25519 verification of every record's signature (the floor: the verifier must do
  at least this);
* :func:`common.audit.bundle.verify_bundle` over the bundle's lines (all checks);
* the auditor's whole command, ``dossier-audit verify FILE``, in this process: reading the
  file, all checks, the printed report (the figure the 5,000 records/s goal applies to).

and prints a table with records/s of each and their ratio. Run::

    .venv/bin/python bench/bench_audit.py            # 20,000 records
    .venv/bin/python bench/bench_audit.py -n 100000 --batch 50

No database, no network: only ``common`` and the auditor's command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from common import keys, merkle, protocol, record
from common.audit import bundle_format as bf
from common.audit.bundle import verify_bundle
from common_io import audit_cli

if TYPE_CHECKING:  # run as a script too: bench/ is a package only under python -m
    from bench.core import Row, Settings

DATA = {
    "procedure": "1.004873.000.00.00.H38",
    "level": "commune",
    "channel": 1,
    "applicant": {"name": "Nguyễn Văn Đức", "id_number": "062095001234", "phone": "0912345678"},
    "documents": {"to_khai": {"original": 1}, "cccd": {"photocopy": 1}},
}


@dataclass
class _Chain:
    seq: int = 0
    prev: str | None = None
    anchor: record.Anchor | None = None


def build(
    n: int, nodes: int, batch: int
) -> tuple[list[bytes], list[tuple[bytes, bytes, keys.PublicKey]]]:
    """The bundle's lines, and (message, signature, key) of every record for the raw run."""
    hub = keys.generate()
    hub_id = keys.key_id(hub)
    origin = f"vn-dossier-hub/{hub_id}"
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    writers = [keys.generate() for _ in range(nodes)]
    state = {keys.key_id(k): _Chain() for k in writers}
    tree, store = merkle.CompactRange(), merkle.MemoryNodes()
    raws: list[bytes] = []
    cps: list[tuple[int, bytes]] = []
    signed: list[tuple[bytes, bytes, keys.PublicKey]] = []
    w = 0
    while len(raws) < n:
        key = writers[w % nodes]
        w += 1
        node = keys.key_id(key)
        st = state[node]
        for _ in range(min(batch, n - len(raws))):
            now += timedelta(seconds=20)
            rec = record.make(
                private_key=key,
                node=node,
                seq=st.seq + 1,
                prev=st.prev,
                at=now,
                anchor=st.anchor,
                dossier=f"000.00.12.H26-261123-{len(raws) % 10000:04d}",
                type="dossier.received",
                actor="hoa.le",
                data=DATA,
            )
            st.seq, st.prev = rec.seq, rec.id
            raws.append(rec.raw)
            store.add(tree.append(merkle.leaf_hash(rec.raw)))
            signed.append((rec.message, rec.signature, key.public_key()))
        now += timedelta(seconds=5)
        body = {
            "origin": origin,
            "root": tree.root().hex(),
            "size": tree.size,
            "time": now.isoformat(),
        }
        cps.append((tree.size, protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, hub)))
        st.anchor = record.Anchor(tree.size, tree.root().hex())
    lines = [
        bf.header_line(
            origin=origin,
            hub_id=hub_id,
            hub_key=keys.public_bytes(hub),
            hub_name="bench",
            hub_level="province",
            since=None,
            until=None,
            start=0,
            end=tree.size,
            created_at=now,
            generator="bench_audit",
        )
    ]
    heads = {node: st.seq for node, st in state.items()}
    for k in writers:
        node = keys.key_id(k)
        lines.append(
            bf.node_line(
                node=node, agency_code=None, name=node, chain="complete", head_seq=heads[node]
            )
        )
        lines.append(
            bf.key_line(
                node=node, key=node, public=keys.public_bytes(k), first_seq=1, last_valid_seq=None
            )
        )
    prev = 0
    for size, cp in cps:
        proof = merkle.consistency_proof(store, prev, size) if prev else []
        lines.append(bf.checkpoint_line(cp, previous_size=prev or None, proof=proof))
        for leaf in range(prev, size):
            lines.append(
                bf.record_line(
                    leaf, raws[leaf], size=size, proof=merkle.inclusion_proof(store, leaf, size)
                )
            )
        prev = size
    counts = {"node": nodes, "key": nodes, "checkpoint": len(cps), "record": len(raws)}
    lines.append(bf.end_line(counts))
    return lines, signed


def measure(
    n: int, *, nodes: int = 20, batch: int = 25, repeat: int = 3, jobs: int = 2
) -> dict[str, float]:
    """Records/s of raw Ed25519, ``verify_bundle``, and the command with one job and with
    ``jobs`` jobs, best of ``repeat`` runs each, interleaved, over one bundle of ``n``."""
    lines, signed = build(n, nodes, batch)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle.jsonl"
        bundle.write_bytes(b"".join(ln if ln.endswith(b"\n") else ln + b"\n" for ln in lines))
        best = dict.fromkeys(("raw", "verify_bundle", "jobs1", "jobsN"), float("inf"))
        reports = {}
        cpus: dict[str, tuple[float, float]] = {}
        for _ in range(repeat):  # best of N for each: other load on the machine only slows
            t0 = time.perf_counter()
            for message, signature, public in signed:
                public.verify(signature, message)
            best["raw"] = min(best["raw"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            report = verify_bundle(lines)
            best["verify_bundle"] = min(best["verify_bundle"], time.perf_counter() - t0)
            assert report.ok, report.as_dict()["findings"][:5]
            for name, j in (("jobs1", 1), ("jobsN", jobs)):
                took, out, cpu = _cli(bundle, j)
                if took < best[name]:
                    best[name], cpus[name] = took, cpu
                reports[name] = out
        assert reports["jobs1"] == reports["jobsN"], "the reports of 1 and N jobs differ"
    rates = {name: len(signed) / s for name, s in best.items()}
    # CPU seconds of the best runs: the reader's process, and the workers' together. On a
    # shared machine the wall clock says little; what two idle cores would give is
    # CPU(jobs 1) / max(reader, all CPU / 2).
    (one, _), (reader, workers) = cpus["jobs1"], cpus["jobsN"]
    rates["cpu_jobs1"], rates["cpu_reader"], rates["cpu_workers"] = one, reader, workers
    rates["ideal_speedup"] = one / max(reader, (reader + workers) / jobs)
    rates["bundle_mb"] = bundle_size(lines) / 1e6
    return rates


def run(settings: Settings) -> list[Row]:
    """Benchmark 8 of ``python -m bench``: the auditor's command on one core and on two,
    beside raw Ed25519 verification of the same records in the same run."""
    from bench.core import Row, yes

    n = settings.n(60_000, 1_600)
    repeat = 1 if settings.smoke else 3
    r = measure(n, repeat=repeat, jobs=2)
    name = "8. Offline audit"
    what = f"{n:,} records, {r['bundle_mb']:.0f} MB bundle, best of {repeat}"
    one, two, raw = r["jobs1"], r["jobsN"], r["raw"]
    return [
        Row(
            name,
            f"`dossier-audit verify FILE --jobs 1` ({what})",
            f"{one:,.0f} records/s",
            f"{raw:,.0f}/s raw Ed25519 verify, one core",
            f"{one / raw:.2f} of raw",
            "≥ 0.67 of raw",
            yes(one / raw >= 0.67),
        ),
        Row(
            name,
            "`dossier-audit verify FILE --jobs 2` (same bundle; same JSON report as --jobs 1)",
            f"{two:,.0f} records/s",
            f"{one:,.0f}/s with --jobs 1",
            f"{two / one:.2f}×",
            "≥ 1.8× on 2 cores",
            yes(two / one >= 1.8),
        ),
        Row(
            name,
            "CPU seconds of those runs: `--jobs 1`; `--jobs 2` reader + workers "
            "(what 2 idle cores give: CPU of --jobs 1 ÷ max(reader, all ÷ 2))",
            f"{r['cpu_jobs1']:.1f} s; {r['cpu_reader']:.1f} + {r['cpu_workers']:.1f} s",
            "—",
            f"{r['ideal_speedup']:.2f}× on 2 idle cores",
            "≥ 1.8× on 2 cores",
            yes(r["ideal_speedup"] >= 1.8),
        ),
    ]


def bundle_size(lines: list[bytes]) -> int:
    return sum(len(ln) for ln in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="records (default 20,000)")
    parser.add_argument("--nodes", type=int, default=20, help="commune nodes (default 20)")
    parser.add_argument("--batch", type=int, default=25, help="records per push (default 25)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="jobs of the parallel run (default 2)")
    args = parser.parse_args()
    print(f"building {args.n:,} records from {args.nodes} nodes, {args.batch} per checkpoint …")
    r = measure(args.n, nodes=args.nodes, batch=args.batch, repeat=args.repeat, jobs=args.jobs)
    print(f"best of {args.repeat} runs each, interleaved; bundle {r['bundle_mb']:.1f} MB")
    print()
    print(f"| {'measure':<38} | {'records/s':>10} | {'µs/record':>9} |")
    print(f"|{'-' * 40}|{'-' * 12}|{'-' * 11}|")
    for name, key in (
        ("raw Ed25519 verify (cryptography)", "raw"),
        ("verify_bundle", "verify_bundle"),
        ("dossier-audit verify FILE --jobs 1", "jobs1"),
        (f"dossier-audit verify FILE --jobs {args.jobs}", "jobsN"),
    ):
        print(f"| {name:<38} | {r[key]:>10,.0f} | {1e6 / r[key]:>9.1f} |")
    print()
    print(f"ratio verify_bundle / raw Ed25519: {r['verify_bundle'] / r['raw']:.2f}")
    print(f"ratio dossier-audit verify --jobs 1 / raw Ed25519: {r['jobs1'] / r['raw']:.2f}")
    print(f"speed-up --jobs {args.jobs} / --jobs 1: {r['jobsN'] / r['jobs1']:.2f}×")
    print(
        f"CPU s: --jobs 1 {r['cpu_jobs1']:.2f}; --jobs {args.jobs} reader {r['cpu_reader']:.2f} "
        f"+ workers {r['cpu_workers']:.2f}; on {args.jobs} idle cores: "
        f"{r['ideal_speedup']:.2f}×"
    )
    print(f"target ≥ 5,000 records/s per core: {'met' if r['jobs1'] >= 5000 else 'NOT met'}")


def _cli(bundle: Path, jobs: int = 1) -> tuple[float, str, tuple[float, float]]:
    """Seconds for the auditor's whole command, in this process (its workers in others):
    read the file, verify, print the report (to a buffer); the JSON report; and the CPU
    seconds of this process and of the workers."""
    out = io.StringIO()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, t0 = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            audit_cli.main(
                ["verify", str(bundle), "--json", "--jobs", str(jobs)], standalone_mode=False
            )
        except SystemExit as exc:
            assert exc.code == 0, out.getvalue()[-500:]
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime
    assert '"ok": true' in out.getvalue(), out.getvalue()[-500:]
    return took, out.getvalue(), (cpu, workers)


if __name__ == "__main__":
    main()
