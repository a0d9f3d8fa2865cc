"""Rebuild the audit test vectors in ``tests/vectors/`` (docs/audit.md §10), deterministically.

    .venv/bin/python tests/make_vectors.py [FOLDER]     (or: -m tests.make_vectors)

Every vector is a bundle made by the in-memory hub of ``tests.audit.forge`` with keys
derived from fixed seeds and a fixed clock (Ed25519 signatures are deterministic), then
altered to show one finding class: ``NAME.jsonl``, ``NAME.expected.json`` (the arguments
of ``dossier-audit verify``, the exit status, the verdict, the counts and every finding),
and for some ``NAME.checkpoint.json`` (the auditor's checkpoint file). The expected output
is what ``dossier-audit verify`` reports; ``tests/audit/test_vectors.py`` checks the
product and the independent verifier against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

if __name__ == "__main__" and not __package__:  # run as a file: the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import chain_break, keys, personal, protocol
from common.audit import bundle_format as bf
from common_io.audit_cli import main
from tests.audit.forge import Forge, Writer, dump, fix_end, obj, raw_of, record_lines

FOLDER = Path(__file__).resolve().parent / "vectors"
A, B = "000.00.12.H26", "000.00.13.H26"


@contextmanager
def seeded_keys() -> Iterator[None]:
    """``keys.generate`` gives keys from a counter while the vectors are made."""
    counter = iter(range(1, 1_000_000))
    real = keys.generate

    def generate() -> Ed25519PrivateKey:
        seed = hashlib.sha256(f"vn-dossier test vector key {next(counter)}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)

    keys.generate = generate  # type: ignore[assignment]
    try:
        yield
    finally:
        keys.generate = real  # type: ignore[assignment]


def _base() -> tuple[Forge, Writer, Writer]:
    """Two communes and the hub: dossier records, a key rotation, a publication."""
    f = Forge()
    a, b = f.node(A, "Xã Đăk Pxi"), f.node(B, "Xã Đăk Pne")
    f.push(a, 2, dossier=f"{A}-261123-0001")
    f.push(b, 1, dossier=f"{B}-261123-0001")
    f.push(a, 1, dossier=f"{A}-261123-0002")
    f.rotate(a)
    f.publish("catalogue.published", {"version": 1})
    f.push(b, 2)
    f.push(a, 1, dossier=f"{A}-261123-0003")
    return f, a, b


def _edit(lines: list[bytes], i: int, **fields: Any) -> list[bytes]:
    return fix_end([*lines[:i], dump({**obj(lines[i]), **fields}), *lines[i + 1 :]])


def _kind(lines: list[bytes], kind: str, n: int = 0) -> int:
    return [i for i, ln in enumerate(lines) if obj(ln)["kind"] == kind][n]


def _flip_b64(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 1
    return base64.b64encode(bytes(raw)).decode()


Vector = tuple[list[bytes], list[str], bytes | None]


def _plain(lines: list[bytes], *args: str) -> Vector:
    return lines, list(args), None


def v_valid() -> Vector:
    f, _, _ = _base()
    return _plain(f.bundle())


def v_altered_record() -> Vector:
    lines = _base()[0].bundle()
    i = record_lines(lines)[2]
    raw = bytearray(raw_of(lines[i]))
    raw[-80] ^= 1  # inside the body: neither the signature nor the log vouches for it
    return _plain(_edit(lines, i, raw=base64.b64encode(bytes(raw)).decode()))


def v_bad_signature() -> Vector:
    f, a, _ = _base()
    rec = f.write(a)
    f.append(rec.raw[:-1] + bytes([rec.raw[-1] ^ 1]))
    f.checkpoint()
    return _plain(f.bundle())


def v_malformed() -> Vector:
    lines = _base()[0].bundle()
    return _plain(fix_end([*lines[:3], b'{"kind":"comment","text":"hi"}\n', *lines[3:]]))


def _drop(lines: list[bytes], i: int) -> list[bytes]:
    return fix_end([*lines[:i], *lines[i + 1 :]])


def v_missing_start() -> Vector:
    f, a, _ = _base()
    lines = f.bundle([a], partial=[f.hub])
    return _plain(_drop(lines, record_lines(lines)[0]))


def v_missing_end() -> Vector:
    f, a, _ = _base()
    lines = f.bundle([a], partial=[f.hub])
    mine = [
        i for i in record_lines(lines) if json.loads(raw_of(lines[i])[20:-64])["node"] == a.node
    ]
    return _plain(_drop(lines, mine[-1]))


def v_reordered() -> Vector:
    lines = _base()[0].bundle()
    i = record_lines(lines)[0]
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return _plain(lines)


def v_duplicate_record() -> Vector:
    lines = _base()[0].bundle()
    i = record_lines(lines)[1]
    return _plain(fix_end([*lines[: i + 1], lines[i], *lines[i + 1 :]]))


def v_fork() -> Vector:
    f, a, _ = _base()
    other = f.write(a, advance=False, data={"n": "other"})
    f.push(a, 1)
    f.append(other.raw)
    f.checkpoint()
    return _plain(f.bundle())


def v_revoked_key() -> Vector:
    f, a, _ = _base()
    f.revoke(a, a.seq)
    f.push(a, 1)
    return _plain(f.bundle())


def v_unknown_key() -> Vector:
    f, a, _ = _base()
    rec = f.write(a, key=keys.generate())
    f.append(rec.raw)
    f.checkpoint()
    return _plain(f.bundle())


def v_unproven_key() -> Vector:
    lines = _base()[0].bundle()
    i = _kind(lines, "key", 1)
    return _plain(_edit(lines, i, last_valid_seq=99))


def v_backdated() -> Vector:
    f, a, _ = _base()
    f.push(a, 1, at=f.now - timedelta(hours=2))
    return _plain(f.bundle())


def v_postdated() -> Vector:
    f, a, _ = _base()
    f.push(a, 1, at=f.now + timedelta(hours=2))
    return _plain(f.bundle())


def v_anchor_missing() -> Vector:
    from common import record

    f, a, _ = _base()
    f.push(a, 1, anchor=record.Anchor(3, "ab" * 32))
    return _plain(f.bundle())


def v_offline_window() -> Vector:
    f, a, _ = _base()
    f.now += timedelta(days=9)
    f.push(a, 2)
    return _plain(f.bundle())


def v_inconsistent_checkpoint() -> Vector:
    f, a, _ = _base()
    f.cosign(a, f.checkpoints[0][0], root=bytes(32))
    return _plain(f.bundle())


def v_unproven_checkpoint() -> Vector:
    lines = _base()[0].bundle()
    return _plain(_edit(lines, _kind(lines, "checkpoint", 2), consistency=None))


def v_bad_checkpoint_signature() -> Vector:
    lines = _base()[0].bundle()
    i = _kind(lines, "checkpoint", 2)
    return _plain(_edit(lines, i, signed=_flip_b64(obj(lines[i])["signed"], -1)))


def v_bad_cosignature() -> Vector:
    f, a, _ = _base()
    f.cosign(a, f.checkpoints[-1][0])
    lines = f.bundle()
    i = _kind(lines, "cosignature")
    return _plain(_edit(lines, i, signed=_flip_b64(obj(lines[i])["signed"], -1)))


def v_unwitnessed() -> Vector:
    return _plain(_base()[0].bundle(), "--min-cosignatures", "1")


def v_bad_inclusion_proof() -> Vector:
    lines = _base()[0].bundle()
    i = record_lines(lines)[0]
    o = obj(lines[i])
    o["proof"]["hashes"] = _flip_b64(o["proof"]["hashes"], 0)
    return _plain(fix_end([*lines[:i], dump(o), *lines[i + 1 :]]))


def v_unproven_record() -> Vector:
    lines = _base()[0].bundle()
    return _plain(_edit(lines, record_lines(lines)[3], proof=None))


def v_unlinked_checkpoint() -> Vector:
    f, _, b = _base()
    lines = f.bundle()
    f.push(b, 1)  # the auditor's checkpoint is newer than the export
    file = {"checkpoint": {"signed": protocol.b64(f.checkpoints[-1][2])}}
    return lines, [], json.dumps(file, indent=2).encode() + b"\n"


def v_hub_key_mismatch() -> Vector:
    lines = _base()[0].bundle()
    h = obj(lines[0])
    h["hub"]["id"] = "0" * 32
    return _plain([dump(h), *lines[1:]])


def v_truncated() -> Vector:
    return _plain(_base()[0].bundle()[:-1])


def v_declared_break() -> Vector:
    """The hub declared it gave up checkpoints beyond the newest one: the auditor's own
    checkpoint, signed before the break with another root, is one of them."""
    f, _, _ = _base()
    size, root, _ = f.checkpoints[-1]
    lost = f.sign_checkpoint(size + 3, bytes(32))
    f.now += timedelta(minutes=1)
    body = protocol.log_break_body(
        origin=f.origin,
        kept=(size, root.hex()),
        given_up=(size + 3, ""),
        time=f.now.isoformat(timespec="seconds"),
        reason="the backup of 1 December was the newest",
        by="admin.tinh",
    )
    signed = protocol.sign_statement(protocol.LOG_BREAK_PREFIX, body, f.hub_key)
    lines = f.bundle()
    key_end = max(i for i, ln in enumerate(lines) if obj(ln)["kind"] == "key")
    lines = fix_end([*lines[: key_end + 1], bf.break_line(signed), *lines[key_end + 1 :]])
    file = {"checkpoint": {"signed": protocol.b64(lost)}}
    return lines, [], json.dumps(file, indent=2).encode() + b"\n"


def v_declared_gap() -> Vector:
    """A commune's record was damaged on its disk before the hub received it: the commune
    signed a chain.break in its place, and the records after it follow the lost one. One
    ``declared_gap`` notice; the bundle still passes."""
    f, a, _ = _base()
    lost = f.write(a, advance=False, dossier=f"{A}-261123-0004")
    brk = f.write(
        a,
        type=chain_break.TYPE,
        data=chain_break.data(
            first_seq=lost.seq,
            last_seq=lost.seq,
            last_good=lost.prev,
            next_prev=lost.id,
            reason=f"record {lost.seq} damaged on the node's disk before the hub received it",
        ),
    )
    f.append(brk.raw)
    f.checkpoint()
    a.prev = lost.id  # the next record names the lost one, as it was signed
    f.push(a, 1, dossier=f"{A}-261123-0005")
    return _plain(f.bundle())


def _broken(
    first: int, last: int, *, after: int = 1, wrong_prev: bool = False, **over: Any
) -> Vector:
    """Commune A lost records ``first..last`` (``first`` = its next seq) on its disk and
    signed a chain.break in their place; ``after`` records follow the range, the first
    naming the last lost one (or, ``wrong_prev``, the record before the break). ``over`` replaces
    payload fields (a break that breaks the format's rules)."""
    f, a, _ = _base()
    assert first == a.seq + 1
    seq, prev = a.seq, a.prev
    lost = [f.write(a, dossier=f"{A}-261123-{n:04d}") for n in range(4, 5 + last - first)]
    a.seq, a.prev = seq, prev
    span = f"records {first}..{last}" if last > first else f"record {first}"
    payload = chain_break.data(
        first_seq=first,
        last_seq=last,
        last_good=prev,
        next_prev=lost[-1].id,
        reason=f"{span} damaged on the node's disk before the hub received it",
    )
    brk = f.write(a, type=chain_break.TYPE, data={**payload, **over})
    f.append(brk.raw)
    f.checkpoint()
    a.seq, a.prev = lost[-1].seq, prev if wrong_prev else lost[-1].id
    for n in range(after):
        f.push(a, 1, dossier=f"{A}-261123-{5 + last - first + n:04d}")
    return _plain(f.bundle())


def v_declared_gap_range() -> Vector:
    """A break over three lost records (seq 6..8): one ``declared_gap`` notice; the record
    after it is seq 9 and names the last lost record; the bundle passes."""
    return _broken(6, 8)


def v_malformed_break() -> Vector:
    """A chain.break whose last_seq is before its own seq: ``malformed``, and it is no
    break for the chain rule, so the next record (seq 7, naming the lost record) is a
    ``fork`` against it."""
    return _broken(6, 6, last_seq=5)


def v_declared_gap_then_dropped() -> Vector:
    """A break over seq 6..8, then seq 9 and 10; the bundle leaves out seq 9: the lost
    range is no gap, the missing record is seq 9 (``dropped_record`` at seq 9, and at its
    leaf, this being a bundle of every commune)."""
    lines = _broken(6, 8, after=2)[0]
    nine = next(
        i
        for i in record_lines(lines)
        if json.loads(raw_of(lines[i])[20:-64])["seq"] == 9
        and json.loads(raw_of(lines[i])[20:-64])["type"] != chain_break.TYPE
    )
    return _plain(_drop(lines, nine))


def v_declared_gap_wrong_prev() -> Vector:
    """A break over seq 6 followed by a record that names neither the break nor its
    next_prev (it names the record before the break): ``fork``."""
    return _broken(6, 6, wrong_prev=True)


def _replaced() -> tuple[Forge, Writer, Writer]:
    """Commune A's laptop (already rotated once) is replaced: the hub revokes its keys after
    the last record it holds and announces the new laptop's key with ``key.replaced``; the
    new laptop writes the chain on."""
    f, a, b = _base()
    f.replace(a, reason="the laptop was stolen")
    f.push(a, 1, dossier=f"{A}-261123-0004")
    f.push(b, 1)
    f.push(a, 1, dossier=f"{A}-261123-0005")
    return f, a, b


def v_replaced_key() -> Vector:
    """A replaced laptop: old keys revoked with their last valid seq, the new key backed by
    the hub's ``key.replaced``, the records after it signed by the new key: PASSED."""
    return _plain(_replaced()[0].bundle())


def v_replaced_key_unproven() -> Vector:
    """The new key's line says it starts one seq later than the hub's ``key.replaced``
    says: ``unproven_key``, the key is not added, and the records it signed are
    ``unknown_key``."""
    lines = _replaced()[0].bundle()
    i = _kind(lines, "key", 3)
    assert obj(lines[i])["rotation"] is not None and obj(lines[i])["revocation"] is None
    return _plain(_edit(lines, i, first_seq=obj(lines[i])["first_seq"] + 1))


def v_replaced_key_revoked() -> Vector:
    """The stolen laptop signs on with its (replaced, revoked) key after its last valid seq
    and the hub logs it: ``revoked_key``."""
    f, a, _ = _replaced()
    old = a.keys[1]["key"]
    rec = f.write(a, key=old, dossier=f"{A}-261123-0006")
    f.append(rec.raw)
    f.checkpoint()
    return _plain(f.bundle())


def v_mislabelled_by_enrolment() -> Vector:
    """The hub renames a commune; the commune's own checkpoint file holds the name and code
    the hub signed when it enrolled the node."""
    f, a, _ = _base()
    lines = f.bundle()
    i = next(
        k for k, ln in enumerate(lines) if obj(ln)["kind"] == "node" and obj(ln)["node"] == a.node
    )
    body = protocol.enrolment_body(
        origin=f.origin,
        node=a.node,
        public_key=keys.public_bytes(a.keys[0]["key"]).hex(),
        agency_code=A,
        commune_name="Xã Đăk Pxi",
        time="2026-11-01T08:00:00+07:00",
    )
    file = {
        "checkpoint": {"signed": protocol.b64(f.checkpoints[-1][2])},
        "enrolment": protocol.b64(
            protocol.sign_statement(protocol.ENROLMENT_PREFIX, body, f.hub_key)
        ),
    }
    cp = json.dumps(file, indent=2).encode() + b"\n"
    return _edit(lines, i, name="Xã Giả Mạo"), [], cp


def v_mislabelled() -> Vector:
    f, a, _ = _base()
    lines = f.bundle()
    i = next(
        k for k, ln in enumerate(lines) if obj(ln)["kind"] == "node" and obj(ln)["node"] == a.node
    )
    return _plain(_edit(lines, i, agency_code="000.00.99.H26", name="Xã Giả Mạo"))


def v_cosigned_head() -> Vector:
    """A dropped tail in a one-commune bundle, caught by the commune's cosignature."""
    f, a, b = _base()
    f.cosign(a, f.checkpoints[-1][0])
    f.push(b, 1)
    lines = f.bundle([a], partial=[f.hub])
    mine = [
        i for i in record_lines(lines) if json.loads(raw_of(lines[i])[20:-64])["node"] == a.node
    ]
    out = _drop(lines, mine[-1])
    n = next(
        k for k, ln in enumerate(out) if obj(ln)["kind"] == "node" and obj(ln)["node"] == a.node
    )
    return _plain(_edit(out, n, head_seq=obj(out[n])["head_seq"] - 1))


def v_control_character() -> Vector:
    f, a, _ = _base()
    lines = f.bundle()
    i = next(
        k for k, ln in enumerate(lines) if obj(ln)["kind"] == "node" and obj(ln)["node"] == a.node
    )
    return _plain(_edit(lines, i, name="Xã Đăk Pxi\x1b[28m\r\nRESULT: PASSED\x1b[8m"))


def _disclosed() -> tuple[list[bytes], list[personal.Disclosure], str]:
    """Format version 2: a commune's intake record commits to the applicant's data; the
    bundle adds that dossier's disclosures, as ``audit-export --disclose`` does."""
    f = Forge(version=2)
    a = f.node(A, "Xã Đăk Pxi")
    salts = iter(range(1, 100))
    data, shown = personal.conceal(
        {
            "procedure": "1.004873.000.00.00.H38",
            "level": "commune",
            "channel": 1,
            "applicant": {
                "name": "Nguyễn Văn An",
                "id_number": "062195001234",
                "phone": "0912345678",
            },
            "request": "Xác nhận tình trạng hôn nhân",
        },
        salt=lambda n: hashlib.sha256(f"vector salt {next(salts)}".encode()).digest()[:n],
    )
    (rec,) = f.push(a, 1, dossier=f"{A}-261123-0001", type="dossier.received", data=data)
    f.push(a, 1, dossier=f"{A}-261123-0001", type="dossier.processing", data={})
    lines = f.bundle()
    at = next(i for i, ln in enumerate(lines) if obj(ln)["kind"] not in ("header", "node", "key"))
    extra = [bf.disclosure_line(rec.id, d.salt, d.path, d.value) for d in shown]
    return fix_end([*lines[:at], *extra, *lines[at:]]), list(shown), rec.id


def v_disclosed() -> Vector:
    """Personal data disclosed for one dossier, each value matching its commitment."""
    return _plain(_disclosed()[0])


def v_bad_disclosure() -> Vector:
    """A disclosed name that is not the one the officer signed."""
    lines, _, _ = _disclosed()
    i = next(
        k for k, ln in enumerate(lines)
        if obj(ln)["kind"] == "disclosure" and obj(ln)["path"] == "applicant.name"
    )  # fmt: skip
    return _plain(_edit(lines, i, value="Nguyễn Văn Ân"))


def _dropped_middle() -> Vector:
    f, a, _ = _base()
    lines = f.bundle([a], partial=[f.hub])
    mine = [
        i for i in record_lines(lines) if json.loads(raw_of(lines[i])[20:-64])["node"] == a.node
    ]
    return _plain(_drop(lines, mine[2]))


VECTORS: dict[str, Callable[[], Vector]] = {
    name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("v_")
}
VECTORS["dropped_record"] = _dropped_middle


def verify(bundle: Path, args: list[str], checkpoint: Path | None) -> tuple[int, dict[str, Any]]:
    extra = ["--checkpoint", str(checkpoint)] if checkpoint else []
    got = CliRunner().invoke(main, ["verify", str(bundle), "--json", *args, *extra])
    return got.exit_code, json.loads(got.output)


def expected(code: int, report: dict[str, Any], args: list[str]) -> dict[str, Any]:
    keep = ("class", "line", "node", "seq", "leaf", "record_id")
    out = {
        "args": args,
        "exit": code,
        "ok": report["ok"],
        "counts": report["counts"],
        "findings_by_class": report["findings_by_class"],
        "findings": [{k: f.get(k) for k in keep} for f in report["findings"]],
    }
    if report.get("notices"):  # shown, not failures (declared_gap)
        out["notices"] = [{k: f.get(k) for k in keep} for f in report["notices"]]
    return out


def build(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, make in VECTORS.items():
        with seeded_keys():
            lines, args, cp = make()
        bundle = folder / f"{name}.jsonl"
        bundle.write_bytes(b"".join(lines))
        cp_path = None
        if cp is not None:
            cp_path = folder / f"{name}.checkpoint.json"
            cp_path.write_bytes(cp)
        code, report = verify(bundle, args, cp_path)
        out = json.dumps(expected(code, report, args), ensure_ascii=False, indent=2, sort_keys=True)
        (folder / f"{name}.expected.json").write_text(out + "\n", encoding="utf-8")
        names.append(name)
    return names


if __name__ == "__main__":  # pragma: no cover
    for n in build(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER):
        print(n)
