"""Key history in the offline verifier: which key may sign which sequence numbers of a chain.

Rules (each ``key`` line must be backed by signed evidence, carried inline):

* A chain's **first key** proves itself: its key id (first 16 bytes of SHA-256 of the public
  key) is the node id, and it starts at seq 1. The hub's chain has the hub key.
* A **rotated-in key** carries the ``key.rotated`` record that introduced it: a record of
  the same chain at ``first_seq - 1``, signed by the key valid at that seq, whose
  ``data.new_key`` is this public key and whose ``data.proof`` is the new key's signature over
  :func:`common.protocol.rotation_message` (node, old key id, seq). The old key ends at that seq.
* A **new laptop's key** (``central-hub node replace``) carries the hub's ``key.replaced``
  record (hub chain, hub key) naming the node, the key, its public key and first seq; the
  keys it replaced end by their revocations.
* A **revoked key** carries the hub's ``key.revoked`` record (hub chain, hub key) naming the
  node, the key and ``last_valid_seq``.
* The line's ``last_valid_seq`` must be what that evidence says (the rotation's or the
  revocation's end), ``null`` when there is none.
* Each evidence record must also appear in the log part of the bundle with a valid inclusion
  proof (the hub logged it); otherwise the key is ``unproven_key``.
* Evidence met only in the log (a rotation in a chain, a revocation in the hub's chain) that
  the key lines did not declare still applies — the log is the truth — and is reported as
  ``unproven_key`` (the key section was incomplete). A late revocation flags the records
  already read that it invalidates (``revoked_key``). A key is valid up to the smallest last
  valid seq any revocation names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common import keys, protocol, record_fast
from common.audit.bundle_format import KeyLine
from common.audit.chain import F_AUTH, Chain, KeyState
from common.audit.report import REVOKED_KEY, UNPROVEN_KEY, Finding
from common.errors import EncodingError, SignatureError
from common.record import Record

Emit = Callable[[Finding], None]


class EvidenceError(Exception):
    """Evidence that does not show what it is meant to show (message says why)."""


def rotation_terms(rec: Record) -> tuple[str, keys.PublicKey, str]:
    """New key id, public key and hex of a ``key.rotated`` record whose own signature has
    already been checked; checks the new key's proof of possession."""
    new_hex, proof_hex = rec.data.get("new_key"), rec.data.get("proof")
    if not isinstance(new_hex, str) or not isinstance(proof_hex, str):
        raise EvidenceError("the rotation record lacks new_key or proof")
    try:
        new_public = keys.public_from_hex(new_hex)
        keys.verify(
            new_public,
            bytes.fromhex(proof_hex),
            protocol.rotation_message(rec.node, rec.key, rec.seq),
        )
    except (EncodingError, SignatureError, ValueError) as exc:
        raise EvidenceError("the new key's proof of possession does not verify") from exc
    return keys.key_id(new_public), new_public, new_hex


def revocation_terms(rec: Record, hub_id: str) -> tuple[str, str, int]:
    """Node, key id and last valid seq named by a hub ``key.revoked`` record."""
    if rec.node != hub_id or rec.type != "key.revoked":
        raise EvidenceError("not a key.revoked record of the hub's chain")
    d: dict[str, Any] = rec.data
    node, key, last = d.get("node"), d.get("key"), d.get("last_valid_seq")
    if not isinstance(node, str) or not isinstance(key, str):
        raise EvidenceError("the revocation does not name a node and a key")
    if type(last) is not int or last < 0:
        raise EvidenceError("the revocation's last_valid_seq is not a whole number")
    return node, key, last


class KeyBook:
    """Key evidence bookkeeping shared by the key section and the log section."""

    def __init__(self, hub_id: str, hub_public: keys.PublicKey, emit: Emit) -> None:
        self.hub_id = hub_id
        self.hub_public = hub_public
        self.emit = emit
        self.verified: set[str] = set()  # evidence records whose signature is checked
        self.pending: dict[str, tuple[str, str, str, int]] = {}  # id -> node, key, kind, line

    def _unproven(self, n: int | None, node: str, key: str, msg: str, **detail: Any) -> None:
        self.emit(Finding(UNPROVEN_KEY, msg, line=n, node=node, detail={"key": key, **detail}))

    # ---------------------------------------------------------- key section

    def key_line(self, n: int, line: KeyLine, chain: Chain) -> None:
        """Check one key line and add the key to the chain if its evidence holds."""
        node, key = line.node, line.key
        if keys.key_id(line.public) != key:
            return self._unproven(n, node, key, "the key id is not the id of its public key")
        if chain.key(key) is not None:
            return self._unproven(n, node, key, "the key appears twice in the key history")
        try:
            public = keys.public_from_bytes(line.public)
        except (EncodingError, ValueError):
            return self._unproven(n, node, key, "the public key is not an Ed25519 key")
        state = KeyState(key, public, line.first_seq, claimed_last=line.last_valid_seq, line=n)
        try:
            if line.rotation is None:
                self._first_key(line, chain)
            else:
                self._rotation_evidence(n, line, chain)
            if line.revocation is not None:
                state.end_revocation = self._revocation_evidence(n, line)
        except EvidenceError as exc:
            return self._unproven(n, node, key, str(exc))
        chain.add_key(state)

    def _first_key(self, line: KeyLine, chain: Chain) -> None:
        if chain.keys:
            raise EvidenceError("a key after the first must carry the rotation that made it")
        if line.first_seq != 1 or line.key != line.node:
            raise EvidenceError("a first key must have the node's id and start at seq 1")
        if line.node == self.hub_id and line.public != keys.public_bytes(self.hub_public):
            raise EvidenceError("the hub chain's key is not the hub key")

    def _rotation_evidence(self, n: int, line: KeyLine, chain: Chain) -> None:
        assert line.rotation is not None
        try:
            rec = record_fast.parse(line.rotation)
        except EncodingError as exc:
            raise EvidenceError("the rotation record cannot be read") from exc
        if rec.node == self.hub_id and rec.type == "key.replaced":
            return self._replacement_evidence(n, line, rec)
        if rec.node != line.node or rec.type != "key.rotated" or rec.seq != line.first_seq - 1:
            raise EvidenceError("the rotation record is not this chain's rotation before first_seq")
        signer = chain.key(rec.key)
        if signer is None or not signer[1].valid_at(rec.seq):
            raise EvidenceError("the rotation record is not signed by a key valid at its seq")
        try:
            rec.verify(signer[1].public)
        except SignatureError as exc:
            raise EvidenceError("the rotation record's signature does not verify") from exc
        new_id, _, new_hex = rotation_terms(rec)
        if new_id != line.key or new_hex != line.public.hex():
            raise EvidenceError("the rotation record introduces another key")
        signer[1].end_rotation = rec.seq
        self.verified.add(rec.id)
        self.pending[rec.id] = (line.node, line.key, "rotation", n)

    def _replacement_evidence(self, n: int, line: KeyLine, rec: Record) -> None:
        """A new laptop's key (``central-hub node replace``): the hub's signed
        ``key.replaced`` record names the node, the key, its public key and first seq. The
        keys it replaces end by their own revocations."""
        try:
            rec.verify(self.hub_public)
        except SignatureError as exc:
            raise EvidenceError("the replacement record is not signed by the hub key") from exc
        d: dict[str, Any] = rec.data
        if (
            d.get("node") != line.node
            or d.get("key") != line.key
            or d.get("public_key") != line.public.hex()
            or type(d.get("first_seq")) is not int
            or d.get("first_seq") != line.first_seq
        ):
            raise EvidenceError("the replacement record names another node, key or first seq")
        self.verified.add(rec.id)
        self.pending[rec.id] = (line.node, line.key, "replacement", n)

    def _revocation_evidence(self, n: int, line: KeyLine) -> int:
        assert line.revocation is not None
        try:
            rec = record_fast.parse(line.revocation)
            rec.verify(self.hub_public)
        except (EncodingError, SignatureError) as exc:
            raise EvidenceError("the revocation is not a record signed by the hub key") from exc
        node, key, last = revocation_terms(rec, self.hub_id)
        if node != line.node or key != line.key:
            raise EvidenceError("the revocation names another node or key")
        self.verified.add(rec.id)
        self.pending[rec.id] = (line.node, line.key, "revocation", n)
        return last

    def close_section(self, chains: dict[str, Chain]) -> None:
        """After the last key line: each claimed last valid seq must match the evidence."""
        for chain in chains.values():
            for k in chain.keys:
                ends = {e for e in (k.end_rotation, k.end_revocation) if e is not None}
                if (k.claimed_last is None and ends) or (
                    k.claimed_last is not None and k.claimed_last not in ends
                ):
                    self._unproven(
                        k.line,
                        chain.node,
                        k.key_id,
                        f"the key line says last valid seq {k.claimed_last}; its evidence says "
                        f"{sorted(ends) or 'none'}",
                    )

    # ---------------------------------------------------------- log section

    def logged(self, record_id: str) -> None:
        """An evidence record was seen in the log with a valid inclusion proof."""
        self.pending.pop(record_id, None)

    def rotation_in_log(self, n: int, rec: Record, chain: Chain, signer: KeyState) -> None:
        """An authentic ``key.rotated`` record met in a chain."""
        try:
            new_id, new_public, _ = rotation_terms(rec)
        except EvidenceError as exc:
            return self._unproven(n, rec.node, rec.key, f"seq {rec.seq}: {exc}")
        known = chain.key(new_id)
        if signer.end_rotation is None:
            signer.end_rotation = rec.seq
            self._unproven(
                n, rec.node, signer.key_id, f"the key lines omit the rotation at seq {rec.seq}"
            )
        if known is None:
            chain.add_key(KeyState(new_id, new_public, rec.seq + 1))
            self._unproven(
                n, rec.node, new_id, f"the key lines omit the key introduced at seq {rec.seq}"
            )
        elif known[1].first_seq != rec.seq + 1:
            self._unproven(
                n,
                rec.node,
                new_id,
                f"the key line's first_seq contradicts the rotation at seq {rec.seq}",
            )

    def revocation_in_log(self, n: int, rec: Record, chains: dict[str, Chain]) -> None:
        """An authentic hub ``key.revoked`` record met in the hub's chain."""
        try:
            node, key, last = revocation_terms(rec, self.hub_id)
        except EvidenceError:
            return
        chain = chains.get(node)
        found = None if chain is None else chain.key(key)
        if chain is None or found is None:
            return  # a revocation of a key outside this bundle
        index, state = found
        if state.end_revocation is not None and state.end_revocation <= last:
            return
        before = state.last_valid
        state.end_revocation = last
        self._unproven(
            n,
            node,
            key,
            f"the key lines do not declare the revocation after seq {last}",
            revocation=rec.id,
        )
        for slot in chain.slots():
            late = slot.seq > last and (before is None or slot.seq <= before)
            if late and slot.key == index and slot.flags & F_AUTH:
                self.emit(
                    Finding(
                        REVOKED_KEY,
                        f"signed by key {key} after its revocation (last valid seq {last})",
                        node=node,
                        seq=slot.seq,
                        leaf=slot.leaf,
                        record_id=slot.record_id,
                    )
                )

    def finish(self) -> None:
        for record_id, (node, key, kind, n) in self.pending.items():
            self._unproven(
                n, node, key, f"its {kind} record is not shown to be in the log", record=record_id
            )
