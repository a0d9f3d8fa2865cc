"""Cosignatures in the offline verifier: the communes as witnesses of the hub's log.

* A cosignature (``common.cosignature``, version 1 or 2) must be signed by one of its node's
  keys — the key its body names — for this log's origin, with exactly its version's fields
  (``bad_cosignature``), by a node the bundle declares (``unknown_key``), for a checkpoint
  read before it with the same root (another root: ``inconsistent_checkpoint``, the node
  saw a split view; a size not read: ``bad_cosignature``). Valid ones are counted per
  checkpoint for ``--min-cosignatures``.
* A version-2 cosignature names the node's **head** in that checkpoint: seq ``n`` and the
  record id there. Once every line is read, for each valid head of a chain: the bundle's
  signed record at seq ``n``, if it holds one, must have that id (``fork``); and the
  chain's ``head_seq`` must be at least ``n`` (``missing_end``: the hub shows the chain
  ending before a record its node saw logged).
* The cosignature in the auditor's own checkpoint file (taken from the commune node) is
  checked the same way against the auditor's checkpoint, and its head likewise; it is
  not counted as a bundle line.
"""

from __future__ import annotations

from typing import Any

from common import cosignature, record_fast
from common.audit.bundle_format import CosignatureLine
from common.audit.chain import F_AUTH, Chain
from common.audit.checkpoints import open_statement
from common.audit.report import (
    BAD_COSIGNATURE,
    FORK,
    INCONSISTENT_CHECKPOINT,
    MISSING_END,
    UNKNOWN_KEY,
    Finding,
)
from common.audit.state import State
from common.errors import EncodingError, SignatureError


def cosigner(signed: bytes, chain: Chain) -> tuple[dict[str, Any], bytes] | None:
    """The cosignature's body and version prefix if the node key its body names signed it
    with its version's fields, else None."""
    try:
        prefix = cosignature.prefix_of(signed)
        peek = record_fast.decode(signed[len(prefix) : -64])
    except EncodingError:
        return None
    named = peek.get("key") if isinstance(peek, dict) else None
    pick = chain.key(named) if isinstance(named, str) else None
    if pick is None:
        return None
    try:
        body = open_statement(prefix, signed, pick[1].public)
        cosignature.check_fields(prefix, body)
    except (SignatureError, EncodingError):
        return None
    return body, prefix


class WitnessChecks(State):
    def cosignature(self, line: CosignatureLine) -> None:
        size = self._cosigned(line.node, line.signed, where={"line": self.n, "node": line.node})
        if size is not None:
            self.cosigned[size] += 1
            self.counts["cosignatures"] += 1

    def _cosigned(
        self, node: str, signed: bytes, *, where: dict[str, Any], size: int | None = None
    ) -> int | None:
        """Check one cosignature and keep its head; the size it cosigns when it is valid."""
        chain = self.chains.get(node)
        if chain is None:
            self.emit(Finding(UNKNOWN_KEY, "a cosignature by an undeclared node", **where))
            return None
        opened = cosigner(signed, chain)
        if opened is None or opened[0]["node"] != node or opened[0]["origin"] != self.h.origin:
            msg = "the cosignature does not verify with the node's keys for this log"
            self.emit(Finding(BAD_COSIGNATURE, msg, **where))
            return None
        body = opened[0]
        cp_size, root = body["size"], body["root"]
        known = self.checkpoints.get(cp_size) if type(cp_size) is int else None
        if size is not None and cp_size != size:
            msg = f"the cosignature is for checkpoint {cp_size!r}, not for yours ({size})"
            self.emit(Finding(BAD_COSIGNATURE, msg, **where))
            return None
        if known is None or not isinstance(root, str):
            msg = f"the cosignature is for a checkpoint not in the bundle (size {cp_size!r})"
            self.emit(Finding(BAD_COSIGNATURE, msg, **where))
            return None
        if known[0].hex() != root:
            msg = f"the node cosigned another root for size {cp_size}: a split view"
            self.emit(Finding(INCONSISTENT_CHECKPOINT, msg, **where))
            return None
        head = cosignature.check_fields(opened[1], body)
        if head is not None:
            chain.heads.append((head[0], bytes.fromhex(head[1]), where.get("line") or 0))
        return int(cp_size)

    def trusted_cosignature(self) -> None:
        """The cosignature in the auditor's checkpoint file, once the bundle is read."""
        if self.trusted_cosig_raw is None or self.trusted is None:
            return
        node, signed = self.trusted_cosig_raw
        where: dict[str, Any] = {"node": node, "detail": {"source": "your checkpoint file"}}
        if node not in self.chains:
            self.report.notes.append(
                f"The cosignature in your checkpoint file is by node {node}, which this bundle "
                "does not cover: its head is not checked."
            )
            return
        if self._cosigned(node, signed, where=where, size=self.trusted[0]) is not None:
            self.report.header["trusted_checkpoint"]["cosigned_by"] = node

    def head_findings(self) -> None:
        for chain in self.chains.values():
            if not chain.heads:
                continue
            for seq, rid, line in chain.heads:
                slot = chain.get(seq)
                if slot is not None and slot.flags & F_AUTH and slot.id != rid:
                    msg = (
                        f"the node cosigned seq {seq} as record {rid.hex()}, but the bundle "
                        "holds another signed record there"
                    )
                    self.emit(
                        Finding(
                            FORK,
                            msg,
                            line=line or None,
                            node=chain.node,
                            seq=seq,
                            leaf=slot.leaf,
                            record_id=slot.record_id,
                            detail={"cosigned_record": rid.hex()},
                        )
                    )
            top = max(chain.heads)
            if chain.head_seq < top[0]:
                msg = (
                    f"the node cosigned a checkpoint holding its chain up to seq {top[0]}, but "
                    f"the bundle says the chain ends at seq {chain.head_seq}"
                )
                self.emit(
                    Finding(
                        MISSING_END,
                        msg,
                        line=top[2] or None,
                        node=chain.node,
                        seq=chain.head_seq + 1,
                        detail={"cosigned_head": top[0], "head_seq": chain.head_seq},
                    )
                )
