"""The bundle's unsigned text, in the offline verifier: names, agency codes, dates as the
hub wrote them. None of it is signed, so none of it is believed — it is checked against what
the signed records say, and it may not carry characters that could disguise the report.

* **Control characters** (:data:`CONTROL`: Unicode ``Cc``, i.e. U+0000–U+001F and
  U+007F–U+009F, the line and paragraph separators U+2028/U+2029, and the bidirectional
  formatting characters U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) in any text
  field of a ``header``, ``node``, ``key`` or ``end`` line: ``malformed``, reason
  ``control_character``, one finding per line naming the fields. Reports print every
  string through :func:`escape`, so such a character never reaches a terminal.
* **Agency codes**: a commune node issues dossier codes under its own agency code
  (``<agency code>-<yymmdd>-<NNNN>``), so every verified record of a commune's chain that
  names a dossier must name one under the agency code its ``node`` line gives; otherwise
  ``mislabelled`` (one finding per chain, at its first contradicting record, with the
  number of contradicting records). Two ``node`` lines with one agency code, and an agency
  code on the hub's own chain, are ``mislabelled`` too.
* **Enrolment**: the hub's signed enrolment of a node (``vn-dossier/enrolment/v1``: agency
  code, commune name, node, origin, public key, time), carried in the auditor's checkpoint
  file from that node, binds its agency code and name: a node line that gives others is
  ``mislabelled``; one that matches is reported as signed (``enrolled``).
* Everything else — commune and hub names (unless enrolled), the hub's level,
  ``created_at``, ``generator``, a key's ``revoked_at`` and ``reason`` — is reported as
  **unsigned**: the hub's word.
"""

from __future__ import annotations

import re
from typing import Any

from common.audit.bundle_format import EndLine, Header, KeyLine, NodeLine
from common.audit.chain import Chain
from common.audit.checkpoints import open_statement
from common.audit.report import BAD_CHECKPOINT_SIGNATURE, MALFORMED, MISLABELLED, Finding
from common.audit.state import State
from common.errors import EncodingError, SignatureError
from common.record import Record

ENROLMENT_PREFIX = b"vn-dossier/enrolment/v1\n"
_ENROLMENT_TEXTS = ("agency_code", "commune_name", "node", "origin", "public_key", "time")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """``text`` with every :data:`CONTROL` character written as ``\\xNN`` or ``\\uNNNN``."""
    return CONTROL.sub(_escaped, text)


def _escaped(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def texts(line: Header | NodeLine | KeyLine | EndLine) -> dict[str, str | None]:
    """The text fields of a line, by their name in the bundle."""
    if isinstance(line, Header):
        return {
            "format": line.format,
            "origin": line.origin,
            "hub.name": line.hub_name,
            "hub.level": line.hub_level,
            "period.since": line.since,
            "period.until": line.until,
            "created_at": line.created_at,
            "generator": line.generator,
        }
    if isinstance(line, NodeLine):
        return {"agency_code": line.agency_code, "name": line.name}
    if isinstance(line, KeyLine):
        return {"revoked_at": line.revoked_at, "reason": line.reason}
    return {f"counts key {escape(k)}": k for k in line.counts}


def dossier_agency(code: str) -> str:
    """The agency code a dossier code is issued under (all before its last two parts)."""
    return code.rsplit("-", 2)[0]


class LabelChecks(State):
    def check_text(self, line: Header | NodeLine | KeyLine | EndLine) -> None:
        bad = [name for name, value in texts(line).items() if value and CONTROL.search(value)]
        if bad:
            msg = f"control characters in {', '.join(bad)}: shown escaped, never as they are"
            self.emit(Finding(MALFORMED, msg, line=self.n, detail={"reason": "control_character"}))

    def label_node(self, line: NodeLine) -> None:
        code = line.agency_code
        if line.node == self.h.hub_id:
            if code is not None:
                msg = f"the hub's own chain is given agency code {code!r}"
                self.emit(Finding(MISLABELLED, msg, line=self.n, node=line.node))
            return
        if code is None:
            return
        other = self.agencies.setdefault(code, line.node)
        if other != line.node:
            msg = f"agency code {code} is given to node {other} too: codes are one node's"
            self.emit(Finding(MISLABELLED, msg, line=self.n, node=line.node))

    def label_record(self, rec: Record, chain: Chain, leaf: int) -> None:
        """A verified record of a commune's chain: its dossier code names its agency."""
        if rec.dossier is None or chain.node == self.h.hub_id or chain.agency_code is None:
            return
        if dossier_agency(rec.dossier) == chain.agency_code:
            chain.agency_confirmed += 1
            return
        chain.agency_conflicts += 1
        if chain.agency_conflict is None:
            chain.agency_conflict = (self.n, rec.seq, leaf, rec.id, rec.dossier)

    def enrolment_findings(self) -> None:
        """The hub's signed enrolment in the auditor's checkpoint file (from the node): the
        node line of that node must give the agency code and commune name it signed."""
        raw = self.trusted_enrolment
        if raw is None:
            return
        src = {"source": "your checkpoint file"}
        try:
            body = open_statement(ENROLMENT_PREFIX, raw, self.hub_public)
        except SignatureError:
            msg = "the enrolment in your checkpoint file is not signed by the hub key"
            return self.emit(Finding(BAD_CHECKPOINT_SIGNATURE, msg, detail=src))
        except EncodingError:
            body = {}
        if (
            body.keys() != set(_ENROLMENT_TEXTS)
            or body.get("origin") != self.h.origin
            or not all(isinstance(body[f], str) for f in _ENROLMENT_TEXTS)
        ):
            msg = "the enrolment in your checkpoint file cannot be read for this log"
            return self.emit(Finding(MALFORMED, msg, detail={**src, "reason": "bad_enrolment"}))
        chain = self.chains.get(body["node"])
        if chain is None:
            self.report.notes.append(
                f"The enrolment in your checkpoint file is of node {body['node']}, which this "
                "bundle does not cover."
            )
            return
        wrong = [
            f"{what} {given!r} where the hub enrolled it as {signed!r}"
            for what, given, signed in (
                ("agency code", chain.agency_code, body["agency_code"]),
                ("name", chain.name, body["commune_name"]),
            )
            if given != signed
        ]
        if wrong:
            msg = "the bundle gives this node " + "; ".join(wrong)
            self.emit(Finding(MISLABELLED, msg, node=chain.node, detail=src))
        else:
            chain.enrolled = True

    def label_findings(self) -> None:
        for chain in self.chains.values():
            first = chain.agency_conflict
            if first is None:
                continue
            n, seq, leaf, rid, dossier = first
            msg = (
                f"the bundle calls this chain agency {chain.agency_code}, but it signed "
                f"dossier {dossier} (agency {dossier_agency(dossier)}); "
                f"{chain.agency_conflicts} signed record(s) contradict the label"
            )
            detail: dict[str, Any] = {
                "label": chain.agency_code,
                "signed": dossier_agency(dossier),
                "contradicting": chain.agency_conflicts,
            }
            self.emit(
                Finding(
                    MISLABELLED,
                    msg,
                    line=n,
                    node=chain.node,
                    seq=seq,
                    leaf=leaf,
                    record_id=rid,
                    detail=detail,
                )
            )
