"""An in-memory hub for audit tests: real signed records, a real RFC 9162 log, signed
checkpoints and a bundle writer — and, unlike the real hub, free to misbehave (log a badly
signed record, both sides of a fork, records out of order, a split view).

Every tampered bundle in the tests is generated from this (or from a real hub's export)
when the test runs; no bundle is stored in the repository.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from common import keys, merkle, protocol, record
from common.audit import bundle_format as bf
from tests.support import VN

START = datetime(2026, 11, 23, 9, 0, tzinfo=VN)


@dataclass
class Writer:
    """A commune node (or the hub's own chain) as the forge sees it."""

    node: str
    key: keys.PrivateKey
    agency: str | None
    name: str
    seq: int = 0
    prev: str | None = None
    anchor: record.Anchor | None = None
    keys: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Logged:
    leaf: int
    raw: bytes
    node: str
    seq: int


class Forge:
    def __init__(self, start: datetime = START, version: int = 1) -> None:
        self.version = version  # record format: 1 (personal data in clear, the old vectors) or 2
        self.now = start
        self.hub_key = keys.generate()
        self.hub_id = keys.key_id(self.hub_key)
        self.origin = f"vn-dossier-hub/{self.hub_id}"
        self.tree = merkle.CompactRange()
        self.store = merkle.MemoryNodes()
        self.log: list[Logged] = []
        self.checkpoints: list[tuple[int, bytes, bytes]] = []  # size, root, signed
        self.writers: dict[str, Writer] = {}
        self.cosigs: dict[int, list[tuple[str, bytes]]] = {}
        self.hub = self._writer(self.hub_key, None, "Tỉnh Quảng Ngãi")

    # ---------------------------------------------------------- writers and records

    def _writer(self, key: keys.PrivateKey, agency: str | None, name: str) -> Writer:
        node = keys.key_id(key)
        w = Writer(node, key, agency, name)
        w.keys.append(
            {"key": key, "first_seq": 1, "last": None, "rotation": None, "revocation": None}
        )
        self.writers[node] = w
        return w

    def node(self, agency: str = "000.00.12.H26", name: str = "Xã Đăk Pxi") -> Writer:
        return self._writer(keys.generate(), agency, name)

    def write(
        self,
        w: Writer,
        *,
        type: str = "checkpoint.cosigned",
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
        anchor: record.Anchor | str | None = "current",
        key: keys.PrivateKey | None = None,
        advance: bool = True,
        dossier: str | None = None,
    ) -> record.Record:
        """The writer's next record (not logged yet)."""
        rec = record.make(
            private_key=key or w.key,
            node=w.node,
            seq=w.seq + 1,
            prev=w.prev,
            at=at or self.now,
            anchor=w.anchor if anchor == "current" else anchor,  # type: ignore[arg-type]
            dossier=dossier,
            type=type,
            actor="system",
            data=data if data is not None else {"n": w.seq + 1},
            version=self.version,
        )
        if advance:
            w.seq, w.prev = rec.seq, rec.id
        return rec

    def append(self, raw: bytes, node: str | None = None, seq: int | None = None) -> int:
        leaf = self.tree.size
        self.store.add(self.tree.append(merkle.leaf_hash(raw)))
        if node is None:
            rec = record.parse(raw)
            node, seq = rec.node, rec.seq
        self.log.append(Logged(leaf, raw, node, seq or 0))
        return leaf

    def checkpoint(self, minutes: float = 1) -> tuple[int, bytes, bytes]:
        self.now += timedelta(minutes=minutes)
        size, root = self.tree.size, self.tree.root()
        body = {
            "origin": self.origin,
            "root": root.hex(),
            "size": size,
            "time": self.now.isoformat(timespec="seconds"),
        }
        cp = (size, root, protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, self.hub_key))
        self.checkpoints.append(cp)
        return cp

    def push(self, w: Writer, count: int = 1, **kw: Any) -> list[record.Record]:
        """The writer writes ``count`` records, the hub logs them and signs a checkpoint; the
        writer's anchor becomes that checkpoint (what a receipt does)."""
        recs = [self.write(w, **kw) for _ in range(count)]
        for r in recs:
            self.append(r.raw)
        size, root, _ = self.checkpoint()
        w.anchor = record.Anchor(size, root.hex())
        return recs

    def publish(self, type: str, data: dict[str, Any]) -> record.Record:
        rec = self.write(self.hub, type=type, data=data)
        self.append(rec.raw)
        size, root, _ = self.checkpoint()
        self.hub.anchor = record.Anchor(size, root.hex())
        return rec

    def rotate(self, w: Writer) -> record.Record:
        new = keys.generate()
        seq = w.seq + 1
        proof = keys.sign(new, protocol.rotation_message(w.node, keys.key_id(w.key), seq))
        data = {"new_key": keys.public_bytes(new).hex(), "proof": proof.hex()}
        (rec,) = self.push(w, 1, type="key.rotated", data=data)
        w.keys[-1]["last"] = seq
        w.keys.append(
            {
                "key": new,
                "first_seq": seq + 1,
                "last": None,
                "rotation": rec.raw,
                "revocation": None,
            }
        )
        w.key = new
        return rec

    def revoke(
        self, w: Writer, last_valid_seq: int, reason: str = "laptop stolen"
    ) -> record.Record:
        entry = w.keys[-1]
        data = {
            "key": keys.key_id(entry["key"]),
            "last_valid_seq": last_valid_seq,
            "node": w.node,
            "reason": reason,
        }
        rec = self.publish("key.revoked", data)
        entry["last"], entry["revocation"] = last_valid_seq, rec.raw
        return rec

    def replace(self, w: Writer, reason: str = "laptop stolen") -> record.Record:
        """``central-hub node replace``: every key of the old laptop is revoked after the
        last record the hub holds (a rotated key keeps its own end), and the hub announces
        the new laptop's key with ``key.replaced``; the new laptop continues the chain."""
        old = [keys.key_id(k["key"]) for k in w.keys]
        for entry in w.keys:
            last = w.seq if entry["last"] is None else min(entry["last"], w.seq)
            data = {
                "key": keys.key_id(entry["key"]),
                "last_valid_seq": last,
                "node": w.node,
                "reason": f"laptop replaced: {reason}",
            }
            rec = self.publish("key.revoked", data)
            entry["last"], entry["revocation"] = last, rec.raw
        new = keys.generate()
        data = {
            "first_seq": w.seq + 1,
            "key": keys.key_id(new),
            "node": w.node,
            "public_key": keys.public_bytes(new).hex(),
            "replaces": sorted(old),
        }
        rec = self.publish("key.replaced", data)
        w.keys.append(
            {
                "key": new,
                "first_seq": w.seq + 1,
                "last": None,
                "rotation": rec.raw,
                "revocation": None,
            }
        )
        w.key = new
        return rec

    def sign_checkpoint(self, size: int, root: bytes, when: datetime | None = None) -> bytes:
        """A checkpoint statement signed by the hub key for any size and root (split views)."""
        body = {
            "origin": self.origin,
            "root": root.hex(),
            "size": size,
            "time": (when or self.now).isoformat(timespec="seconds"),
        }
        return protocol.sign_statement(protocol.CHECKPOINT_PREFIX, body, self.hub_key)

    def cosign(self, w: Writer, size: int, root: bytes | None = None) -> bytes:
        """The writer witnesses the checkpoint of ``size`` (or claims ``root`` for it)."""
        real = next(cp for cp in self.checkpoints if cp[0] == size)
        body = protocol.open_statement(
            protocol.CHECKPOINT_PREFIX, real[2], self.hub_key.public_key()
        )
        cp = {**body, "root": (root or real[1]).hex()}
        mine = [x for x in self.log if x.node == w.node and x.leaf < size]
        head = (mine[-1].seq, record.parse(mine[-1].raw).id) if mine else None
        signed = protocol.sign_statement(
            protocol.COSIGNATURE_PREFIX,
            protocol.cosignature_body(cp, node=w.node, key=keys.key_id(w.key), head=head),
            w.key,
        )
        self.cosigs.setdefault(size, []).append((w.node, signed))
        return signed

    # ---------------------------------------------------------- bundles

    def proof(self, leaf: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(self.store, leaf, size)

    def bundle(
        self,
        writers: Iterable[Writer] | None = None,
        *,
        start: int = 0,
        end: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        partial: Iterable[Writer] = (),
        checkpoints: Callable[[int], bool] | None = None,
    ) -> list[bytes]:
        """A bundle of every logged record of ``writers`` (default: every writer), with every
        checkpoint (or those ``checkpoints`` keeps), each record proven against the first
        checkpoint that includes it."""
        chosen = list(writers) if writers is not None else list(self.writers.values())
        partial_ids = {w.node for w in partial}
        ids = {w.node for w in chosen} | partial_ids
        end = self.checkpoints[-1][0] if end is None else end
        lines = [
            bf.header_line(
                origin=self.origin,
                hub_id=self.hub_id,
                hub_key=keys.public_bytes(self.hub_key),
                hub_name="Tỉnh Quảng Ngãi",
                hub_level="province",
                since=since,
                until=until,
                start=start,
                end=end,
                created_at=self.now,
                generator="tests.audit.forge",
            )
        ]
        chosen_ids = {w.node for w in chosen}
        extra = [w for w in self.writers.values() if w.node in partial_ids - chosen_ids]
        for w in [*chosen, *extra]:
            lines.append(
                bf.node_line(
                    node=w.node,
                    agency_code=w.agency,
                    name=w.name,
                    chain="partial" if w.node in partial_ids else "complete",
                    head_seq=max((x.seq for x in self.log if x.node == w.node), default=0),
                )
            )
        for w in [w for w in self.writers.values() if w.node in ids]:
            for k in w.keys:
                lines.append(
                    bf.key_line(
                        node=w.node,
                        key=keys.key_id(k["key"]),
                        public=keys.public_bytes(k["key"]),
                        first_seq=k["first_seq"],
                        last_valid_seq=k["last"],
                        rotation=k["rotation"],
                        revocation=k["revocation"],
                    )
                )
        prev: int | None = None
        for size, _, signed in self.checkpoints:
            if checkpoints is not None and not checkpoints(size):
                continue
            proof = merkle.consistency_proof(self.store, prev, size) if prev else []
            lines.append(bf.checkpoint_line(signed, previous_size=prev, proof=proof))
            for node, cosig in self.cosigs.get(size, []):
                lines.append(bf.cosignature_line(node=node, signed=cosig))
            for x in self.log[prev or 0 : size]:
                if x.node in ids:
                    lines.append(
                        bf.record_line(x.leaf, x.raw, size=size, proof=self.proof(x.leaf, size))
                    )
            prev = size
        counts: dict[str, int] = {}
        for ln in lines[1:]:
            kind = json.loads(ln)["kind"]
            counts[kind] = counts.get(kind, 0) + 1
        lines.append(bf.end_line(counts))
        return lines


# ------------------------------------------------------------------ line surgery


def obj(line: bytes) -> dict[str, Any]:
    return json.loads(line)


def dump(o: dict[str, Any]) -> bytes:
    return json.dumps(o, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def record_lines(lines: list[bytes]) -> list[int]:
    return [i for i, ln in enumerate(lines) if obj(ln)["kind"] == "record"]


def raw_of(line: bytes) -> bytes:
    return base64.b64decode(obj(line)["raw"])


def with_raw(line: bytes, raw: bytes) -> bytes:
    o = obj(line)
    o["raw"] = base64.b64encode(raw).decode()
    return dump(o)


def fix_end(lines: list[bytes]) -> list[bytes]:
    """Recount the end line after surgery, so only the intended defect remains."""
    counts: dict[str, int] = {}
    for ln in lines[1:-1]:
        try:
            kind = obj(ln).get("kind")
        except (ValueError, AttributeError):
            continue
        if kind in bf.KINDS and kind not in ("header", "end"):
            counts[kind] = counts.get(kind, 0) + 1
    return [*lines[:-1], bf.end_line(counts)]
