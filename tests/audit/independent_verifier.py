"""A second verifier of audit bundles, written from ``docs/audit.md`` (§5–§8) and
``docs/records.md`` alone. It imports nothing of ``common``: only the standard library and
``cryptography`` for Ed25519. ``tests/audit/test_vectors.py`` checks that it reports the
same verdict, counts and findings as ``dossier-audit verify``; where they differ, the
documents are not precise enough (or one implementation is wrong).

Deliberately plain: whole-bundle in memory, dictionaries, no speed tricks.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import unicodedata
from bisect import bisect_right
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EVENTS = (b"vn-dossier/event/v2\n", b"vn-dossier/event/v1\n")  # v2: personal data committed
EVENT = EVENTS[0]  # both prefixes are 20 bytes
CHECKPOINT = b"vn-dossier/checkpoint/v1\n"
LOG_BREAK = b"vn-dossier/log-break/v1\n"
COSIG = {
    b"vn-dossier/cosignature/v1\n": {"key", "node", "origin", "root", "size", "time"},
    b"vn-dossier/cosignature/v2\n": {"head", "key", "node", "origin", "root", "size", "time"},
}
HEX32, HEX64 = re.compile(r"[0-9a-f]{32}\Z"), re.compile(r"[0-9a-f]{64}\Z")
TYPE = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+\Z")
ACTOR = re.compile(r"[A-Za-z0-9_.@-]{1,64}\Z")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
RECORD_FIELDS = {"node", "key", "seq", "prev", "at", "anchor", "dossier", "type", "actor", "data"}
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_LINE = 512 * 1024
AUTH, INCL, FORKED, HASPREV = 1, 2, 4, 8


class Unusable(Exception):
    pass


class Bad(Exception):
    pass


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def key_id(public: bytes) -> str:
    return sha(public)[:16].hex()


def ed_ok(public: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def when(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.timestamp() if t.tzinfo else None


# ------------------------------------------------------------------ canonical JSON (records.md)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise Bad("duplicate key")
    return dict(pairs)


def _nofloat(_: str) -> Any:
    raise Bad("not an integer")


STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_float=_nofloat, parse_constant=_nofloat)


def _values_ok(v: Any, depth: int) -> bool:
    if depth > 16:
        return False
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, int):
        return -(2**53 - 1) <= v <= 2**53 - 1
    if isinstance(v, str):
        return unicodedata.is_normalized("NFC", v)
    if isinstance(v, list):
        return all(_values_ok(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return all(k.isascii() and _values_ok(x, depth + 1) for k, x in v.items())
    return False


def canonical(body: bytes) -> Any:
    """The value of canonical JSON bytes; Bad unless the bytes are exactly JCS of it."""
    try:
        value = STRICT.decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Bad("not JSON") from exc
    if not _values_ok(value, 1):
        raise Bad("not canonical values")
    again = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if again.encode("utf-8") != body:
        raise Bad("not canonical")
    return value


def parse_record(raw: bytes) -> dict[str, Any]:
    if not raw.startswith(EVENTS) or not len(EVENT) + 2 + 64 <= len(raw) <= 65536:
        raise Bad("size or prefix")
    b = canonical(raw[len(EVENT) : -64])
    if not isinstance(b, dict) or b.keys() != RECORD_FIELDS:
        raise Bad("fields")
    if not isinstance(b["data"], dict) or ("pd" in b["data"] and raw.startswith(EVENTS[1])):
        raise Bad("data")
    seq, prev = b["seq"], b["prev"]
    if type(seq) is not int or seq < 1:
        raise Bad("seq")
    if (seq == 1) != (prev is None) or (
        prev is not None and not (isinstance(prev, str) and HEX64.match(prev))
    ):
        raise Bad("prev")
    for f, pat in (("node", HEX32), ("key", HEX32), ("type", TYPE), ("actor", ACTOR)):
        if not isinstance(b[f], str) or not pat.match(b[f]):
            raise Bad(f)
    if not isinstance(b["at"], str) or len(b["at"]) > 40 or when(b["at"]) is None:
        raise Bad("at")
    a = b["anchor"]
    if a is not None and not (
        isinstance(a, dict)
        and a.keys() == {"root", "size"}
        and type(a["size"]) is int
        and a["size"] >= 0
        and isinstance(a["root"], str)
        and HEX64.match(a["root"])
    ):
        raise Bad("anchor")
    d = b["dossier"]
    if d is not None and not (isinstance(d, str) and 1 <= len(d) <= 64):
        raise Bad("dossier")
    if not isinstance(b["data"], dict):
        raise Bad("data")
    return {**b, "raw": raw, "id": sha(raw).hex()}


def lenient(raw: bytes) -> tuple[str | None, int | None]:
    i, j = raw.rfind(b'"node":"'), raw.rfind(b'"seq":')
    if i < 0 or j < 0:
        return None, None
    node = raw[i + 8 : i + 40].decode("ascii", "replace")
    m = re.compile(rb"\d{1,15}").match(raw, j + 6)
    if not HEX32.match(node) or m is None:
        return None, None
    return node, int(m.group())


# ------------------------------------------------------------------ RFC 9162 proofs


def inclusion_root(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def consistent(n1: int, n2: int, r1: bytes, r2: bytes, proof: list[bytes]) -> bool:
    if n1 == n2:
        return not proof and r1 == r2
    if n1 == 0 or n1 > n2:
        return False
    if n1 & (n1 - 1) == 0:
        proof = [r1, *proof]
    if not proof:
        return False
    fn, sn = n1 - 1, n2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = sha(b"\x01" + c + fr), sha(b"\x01" + c + sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = sha(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == r1 and sr == r2 and sn == 0


def hashes(blob: bytes) -> list[bytes] | None:
    return None if len(blob) % 32 else [blob[i : i + 32] for i in range(0, len(blob), 32)]


# ------------------------------------------------------------------ lines (§5)


def _b64(v: Any, limit: int) -> bytes:
    if not isinstance(v, str) or len(v) > limit:
        raise Bad("base64")
    try:
        return binascii.a2b_base64(v, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise Bad("base64") from exc


def _int(v: Any, lo: int = 0) -> int:
    if type(v) is not int or not lo <= v <= 2**63 - 1:
        raise Bad("int")
    return v


def _text(v: Any, limit: int, null: bool = False) -> str | None:
    if v is None and null:
        return None
    if not isinstance(v, str) or len(v) > limit:
        raise Bad("text")
    return v


def _hex(v: Any, pat: re.Pattern[str]) -> str:
    if not isinstance(v, str) or not pat.match(v):
        raise Bad("hex")
    return v


def _obj(v: Any, names: set[str]) -> dict[str, Any]:
    if not isinstance(v, dict) or v.keys() != names:
        raise Bad("fields")
    return v


def _depth(data: bytes) -> int:
    depth = deepest = 0
    in_s = esc = False
    for c in data:
        if in_s:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_s = False
        elif c == 0x22:
            in_s = True
        elif c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
    return deepest


R, S, P = 87384, 5464, 5464
KINDS = ("node", "key", "disclosure", "break", "checkpoint", "cosignature", "record")
DISCLOSURE = b"vn-dossier/disclosure/v1\n"  # docs/records.md, "Personal data"
SALT, PATH = re.compile(r"[0-9a-f]{32}\Z"), re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)*\Z")


def read_line(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_LINE:
        raise Bad("overlong")
    data = data[:-1] if data.endswith(b"\n") else data
    if _depth(data) > 4:
        raise Bad("too_deep")
    try:
        o = STRICT.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Bad("json") from exc
    if not isinstance(o, dict) or not isinstance(o.get("kind"), str):
        raise Bad("kind")
    k = o["kind"]
    if k == "header":
        _obj(o, {"kind", "format", "origin", "hub", "period", "created_at", "generator"})
        hub = _obj(o["hub"], {"id", "key", "name", "level"})
        per = _obj(o["period"], {"since", "until", "start", "end"})
        start, end = _int(per["start"]), _int(per["end"])
        if start > end:
            raise Bad("period")
        return {
            "kind": k,
            "format": _text(o["format"], 64),
            "origin": _text(o["origin"], 200),
            "hub_id": _hex(hub["id"], HEX32),
            "hub_key": _hex(hub["key"], HEX64),
            "texts": [
                _text(o["format"], 64),
                _text(o["origin"], 200),
                _text(hub["name"], 300),
                _text(hub["level"], 64),
                _text(per["since"], 64, True),
                _text(per["until"], 64, True),
                _text(o["created_at"], 64),
                _text(o["generator"], 200),
            ],
            "since": per["since"],
            "until": per["until"],
            "start": start,
            "end": end,
        }
    if k == "node":
        _obj(o, {"kind", "node", "agency_code", "name", "chain", "head_seq"})
        if o["chain"] not in ("complete", "partial"):
            raise Bad("chain")
        return {
            "kind": k,
            "node": _hex(o["node"], HEX32),
            "agency": _text(o["agency_code"], 64, True),
            "texts": [_text(o["agency_code"], 64, True), _text(o["name"], 300)],
            "complete": o["chain"] == "complete",
            "head": _int(o["head_seq"]),
        }
    if k == "key":
        names = {"kind", "node", "key", "public", "first_seq", "last_valid_seq", "revoked_at"}
        _obj(o, names | {"reason", "rotation", "revocation"})
        return {
            "kind": k,
            "node": _hex(o["node"], HEX32),
            "key": _hex(o["key"], HEX32),
            "public": bytes.fromhex(_hex(o["public"], HEX64)),
            "first": _int(o["first_seq"], 1),
            "last": None if o["last_valid_seq"] is None else _int(o["last_valid_seq"]),
            "texts": [_text(o["revoked_at"], 64, True), _text(o["reason"], 300)],
            "rotation": None if o["rotation"] is None else _b64(o["rotation"], R),
            "revocation": None if o["revocation"] is None else _b64(o["revocation"], R),
        }
    if k == "checkpoint":
        _obj(o, {"kind", "signed", "consistency"})
        c = o["consistency"]
        out = {"kind": k, "signed": _b64(o["signed"], S), "from": None, "proof": None}
        if c is not None:
            _obj(c, {"from", "hashes"})
            out["from"], out["proof"] = _int(c["from"]), _b64(c["hashes"], P)
        return out
    if k == "break":
        _obj(o, {"kind", "signed"})
        return {"kind": k, "signed": _b64(o["signed"], S)}
    if k == "cosignature":
        _obj(o, {"kind", "node", "key", "signed"})
        if o["key"] is not None:
            _hex(o["key"], HEX32)
        return {"kind": k, "node": _hex(o["node"], HEX32), "signed": _b64(o["signed"], S)}
    if k == "record":
        _obj(o, {"kind", "leaf", "raw", "proof"})
        p = o["proof"]
        out = {"kind": k, "leaf": _int(o["leaf"]), "raw": _b64(o["raw"], R), "size": None}
        if p is not None:
            _obj(p, {"size", "hashes"})
            out["size"], out["proof"] = _int(p["size"]), _b64(p["hashes"], P)
        return out
    if k == "disclosure":
        _obj(o, {"kind", "record", "salt", "path", "value"})
        if not isinstance(o["salt"], str) or not isinstance(o["path"], str):
            raise Bad("disclosure")
        return {"kind": k, "record": _hex(o["record"], HEX64), "salt": o["salt"],
                "path": o["path"], "value": o["value"], "texts": []}  # fmt: skip
    if k == "end":
        _obj(o, {"kind", "counts"})
        c = o["counts"]
        if not isinstance(c, dict) or len(c) > 8:
            raise Bad("counts")
        for name, v in c.items():
            _text(name, 20)
            _int(v)
        return {"kind": k, "counts": c, "texts": list(c)}
    raise Bad("unknown kind")


# ------------------------------------------------------------------ the verifier (§7)


class Chain:
    def __init__(self, node: str, complete: bool, head: int, agency: str | None) -> None:
        self.node, self.complete, self.head, self.agency = node, complete, head, agency
        self.name = ""
        self.keys: list[dict[str, Any]] = []
        self.slots: dict[int, list[Any]] = {}  # seq -> [id bytes, prev hex|None, leaf, key, flags]
        self.offline: list[Any] | None = None
        self.heads: list[tuple[int, bytes, int]] = []
        self.agree = 0
        self.conflicts = 0
        self.conflict: tuple[int, int, int, str, str] | None = None
        self.breaks: dict[int, tuple[int, str]] = {}  # chain.break seq -> (last lost, next prev)

    def key(self, kid: str) -> tuple[int, dict[str, Any]] | None:
        for i, k in enumerate(self.keys):
            if k["id"] == kid:
                return i, k
        return None


def last_valid(k: dict[str, Any]) -> int | None:
    ends = [e for e in (k["end_rot"], k["end_rev"]) if e is not None]
    return min(ends) if ends else None


def valid_at(k: dict[str, Any], seq: int) -> bool:
    last = last_valid(k)
    return k["first"] <= seq and (last is None or seq <= last)


class Verifier:
    def __init__(self, hub_key: bytes | None, cp_file: bytes | None, policy: dict[str, Any]):
        self.pinned = hub_key
        self.tol = policy.get("tolerance_minutes", 5) * 60
        self.offline = policy.get("max_offline_days", 7) * 86400
        self.min_cosigs = policy.get("min_cosignatures", 0)
        self.cp_file = cp_file
        self.findings: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.n = 0
        self.phase = 0
        self.kinds = {k: 0 for k in KINDS}
        self.disclosed: dict[str, list[tuple[int, str, str]]] = {}
        self.chains: dict[str, Chain] = {}
        self.cps: dict[int, tuple[bytes, float]] = {}
        self.bad_sizes: set[int] = set()
        self.last_cp: tuple[int, bytes, float] | None = None
        self.window: tuple[int, int, float] | None = None
        self.last_leaf = -1
        self.cosigned: dict[int, int] = {}
        self.counts = {k: 0 for k in ("verified", "in_period", "no_anchor", "cps", "cosigs")}
        self.trusted: tuple[int, bytes] | None = None
        self.trusted_time: float | None = None
        self.trusted_seen = False
        self.given_up_said = False
        self.breaks: list[dict[str, Any]] = []
        self.file_cosig: tuple[str, bytes] | None = None
        self.file_enrolment: bytes | None = None
        self.edge: dict[str, float] = {}
        self.ended = False
        self.agencies: dict[str, str] = {}
        self.leaf_next: int | None = None
        self.gaps: list[tuple[int, int]] = []
        self.evidence_ok: set[str] = set()
        self.pending: dict[str, tuple[str, str, int]] = {}

    def emit(self, cls: str, **where: Any) -> None:
        self.findings.append({"class": cls, **where})

    def notice(self, cls: str, **where: Any) -> None:
        self.notices.append({"class": cls, **where})

    # -------------------------------------------------- lines

    def feed(self, data: bytes) -> None:
        self.n += 1
        try:
            line = read_line(data)
        except Bad as exc:
            if self.phase == 0:
                raise Unusable("no header") from exc
            return self.emit("malformed", line=self.n)
        k = line["kind"]
        if self.phase == 0:
            if k != "header":
                raise Unusable("no header")
            self.header(line)
            self.texts(line)
            self.phase = 1
            return
        if self.phase == 3:
            return self.emit("malformed", line=self.n)
        if k == "header":
            return self.emit("malformed", line=self.n)
        if k != "end":
            self.kinds[k] += 1
        if k in ("node", "key", "end"):
            self.texts(line)
        if k in ("record", "checkpoint", "cosignature", "break"):
            if self.phase == 1:
                self.open_log()
            getattr(self, "log_break" if k == "break" else k)(line)
        elif k in ("node", "key"):
            if self.phase != 1:
                return self.emit("malformed", line=self.n)
            getattr(self, k)(line)
        elif k == "disclosure":
            if self.phase != 1:
                return self.emit("malformed", line=self.n)
            self.disclosure(line)
        else:
            read = dict(self.kinds)
            c = line["counts"]
            if set(c) - set(read) or any(c.get(x, 0) != v for x, v in read.items()):
                self.emit("truncated", line=self.n)
            self.ended, self.phase = True, 3

    def disclosure(self, line: dict[str, Any]) -> None:
        """docs/records.md: commitment = SHA-256(prefix ‖ JCS([salt, path, value]))."""
        salt, path, value = line["salt"], line["path"], line["value"]
        if not SALT.match(salt) or not PATH.match(path) or not _values_ok(value, 1):
            return self.emit("malformed", line=self.n)
        text = json.dumps([salt, path, value], ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))  # fmt: skip
        digest = hashlib.sha256(DISCLOSURE + text.encode("utf-8")).hexdigest()
        self.disclosed.setdefault(line["record"], []).append((self.n, path, digest))

    def texts(self, line: dict[str, Any]) -> None:
        if any(t and CONTROL.search(t) for t in line["texts"]):
            self.emit("malformed", line=self.n)

    def header(self, h: dict[str, Any]) -> None:
        if h["format"] != "vn-dossier-audit/v1":
            raise Unusable("format")
        named = bytes.fromhex(h["hub_key"])
        key = named if self.pinned is None else self.pinned
        if named != key:
            self.emit("hub_key_mismatch", line=1)
        try:
            Ed25519PublicKey.from_public_bytes(key)
        except ValueError as exc:
            raise Unusable("hub key") from exc
        if key_id(key) != h["hub_id"]:
            self.emit("hub_key_mismatch", line=1)
        self.h, self.hub_key = h, key
        self.since, self.until = when(h["since"]), when(h["until"])
        if (h["since"] and self.since is None) or (h["until"] and self.until is None):
            self.emit("malformed", line=1)
        if self.cp_file is not None:
            self.take_file(self.cp_file)

    def take_file(self, data: bytes) -> None:
        try:
            o = STRICT.decode(data.decode("utf-8"))
            cp = o["checkpoint"]
            signed = _b64(cp["signed"], S)
            enr = o.get("enrolment")
            self.file_enrolment = None if enr is None else _b64(enr, S)
            cos = o.get("cosignature")
            if cos is not None:
                self.file_cosig = (_hex(cos["node"], HEX32), _b64(cos["signed"], S))
        except (Bad, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise Unusable("checkpoint file") from exc
        try:
            size, root, t = self.open_cp(signed)
        except Bad as exc:
            self.emit(str(exc))
            return
        self.trusted, self.trusted_time = (size, root), t

    def node(self, line: dict[str, Any]) -> None:
        node = line["node"]
        if node in self.chains:
            return self.emit("malformed", line=self.n)
        self.chains[node] = Chain(node, line["complete"], line["head"], line["agency"])
        self.chains[node].name = line["texts"][1]
        code = line["agency"]
        if node == self.h["hub_id"]:
            if code is not None:
                self.emit("mislabelled", line=self.n, node=node)
        elif code is not None and self.agencies.setdefault(code, node) != node:
            self.emit("mislabelled", line=self.n, node=node)

    def key(self, line: dict[str, Any]) -> None:
        chain = self.chains.get(line["node"])
        if chain is None:
            return self.emit("malformed", line=self.n)
        node, kid = line["node"], line["key"]
        state = {
            "id": kid,
            "public": line["public"],
            "first": line["first"],
            "end_rot": None,
            "end_rev": None,
            "claimed": line["last"],
            "line": self.n,
        }
        try:
            if key_id(line["public"]) != kid or chain.key(kid) is not None:
                raise Bad("id")
            Ed25519PublicKey.from_public_bytes(line["public"])
            if line["rotation"] is None:
                if chain.keys or line["first"] != 1 or kid != node:
                    raise Bad("first")
                if node == self.h["hub_id"] and line["public"] != self.hub_key:
                    raise Bad("hub")
            else:
                rec = parse_record(line["rotation"])
                if rec["node"] == self.h["hub_id"] and rec["type"] == "key.replaced":
                    self.replacement(rec, line)
                else:
                    self.rotation(rec, line, chain)
                self.evidence_ok.add(rec["id"])
                self.pending[rec["id"]] = (node, kid, self.n)
            if line["revocation"] is not None:
                rec = parse_record(line["revocation"])
                if not ed_ok(self.hub_key, rec["raw"][-64:], rec["raw"][:-64]):
                    raise Bad("sig")
                rnode, rkey, last = self.revocation_terms(rec)
                if rnode != node or rkey != kid:
                    raise Bad("other")
                state["end_rev"] = last
                self.evidence_ok.add(rec["id"])
                self.pending[rec["id"]] = (node, kid, self.n)
        except Bad:
            return self.emit("unproven_key", line=self.n, node=node)
        chain.keys.append(state)

    def rotation(self, rec: dict[str, Any], line: dict[str, Any], chain: Chain) -> None:
        """audit.md §7.2: the commune's own ``key.rotated`` at ``first_seq - 1``, signed by a
        key of the chain valid there, introducing this key; the old key ends at its seq."""
        if (
            rec["node"] != line["node"]
            or rec["type"] != "key.rotated"
            or rec["seq"] != line["first"] - 1
        ):
            raise Bad("rotation")
        signer = chain.key(rec["key"])
        if signer is None or not valid_at(signer[1], rec["seq"]):
            raise Bad("signer")
        if not ed_ok(signer[1]["public"], rec["raw"][-64:], rec["raw"][:-64]):
            raise Bad("sig")
        new_id, new_hex = self.rotation_terms(rec)
        if new_id != line["key"] or new_hex != line["public"].hex():
            raise Bad("other key")
        signer[1]["end_rot"] = rec["seq"]

    def replacement(self, rec: dict[str, Any], line: dict[str, Any]) -> None:
        """audit.md §7.2: a new laptop's key is backed by the hub's ``key.replaced`` (signed
        by the hub key) naming this line's node, key, public key and first seq; it ends no
        key (the replaced keys end by their own revocations)."""
        if not ed_ok(self.hub_key, rec["raw"][-64:], rec["raw"][:-64]):
            raise Bad("sig")
        d = rec["data"]
        if (
            d.get("node") != line["node"]
            or d.get("key") != line["key"]
            or d.get("public_key") != line["public"].hex()
            or type(d.get("first_seq")) is not int
            or d["first_seq"] != line["first"]
        ):
            raise Bad("replacement names another key")

    def rotation_terms(self, rec: dict[str, Any]) -> tuple[str, str]:
        new, proof = rec["data"].get("new_key"), rec["data"].get("proof")
        if not isinstance(new, str) or not isinstance(proof, str):
            raise Bad("terms")
        msg = f"vn-dossier/rotate/v1\n{rec['node']}\n{rec['key']}\n{rec['seq']}".encode()
        try:
            public, sig = bytes.fromhex(new), bytes.fromhex(proof)
        except ValueError as exc:
            raise Bad("hex") from exc
        if len(public) != 32 or not ed_ok(public, sig, msg):
            raise Bad("proof")
        return key_id(public), new

    def revocation_terms(self, rec: dict[str, Any]) -> tuple[str, str, int]:
        if rec["node"] != self.h["hub_id"] or rec["type"] != "key.revoked":
            raise Bad("not a revocation")
        d = rec["data"]
        node, key, last = d.get("node"), d.get("key"), d.get("last_valid_seq")
        if (
            not isinstance(node, str)
            or not isinstance(key, str)
            or type(last) is not int
            or last < 0
        ):
            raise Bad("terms")
        return node, key, last

    def open_log(self) -> None:
        for chain in self.chains.values():
            for k in chain.keys:
                ends = {e for e in (k["end_rot"], k["end_rev"]) if e is not None}
                if (k["claimed"] is None and ends) or (
                    k["claimed"] is not None and k["claimed"] not in ends
                ):
                    self.emit("unproven_key", line=k["line"], node=chain.node)
        hub = self.chains.get(self.h["hub_id"])
        if hub is not None and hub.complete:
            self.leaf_next = self.h["start"]
        self.phase = 2

    # -------------------------------------------------- checkpoints and cosignatures

    def open_cp(self, raw: bytes) -> tuple[int, bytes, float]:
        if not raw.startswith(CHECKPOINT) or len(raw) < len(CHECKPOINT) + 66:
            raise Bad("malformed")
        if not ed_ok(self.hub_key, raw[-64:], raw[:-64]):
            raise Bad("bad_checkpoint_signature")
        try:
            b = canonical(raw[len(CHECKPOINT) : -64])
        except Bad as exc:
            raise Bad("malformed") from exc
        if not isinstance(b, dict) or b.keys() != {"origin", "root", "size", "time"}:
            raise Bad("malformed")
        if b["origin"] != self.h["origin"]:
            raise Bad("bad_checkpoint_signature")
        t = when(b["time"])
        if type(b["size"]) is not int or b["size"] < 0 or t is None:
            raise Bad("malformed")
        if not isinstance(b["root"], str) or not HEX64.match(b["root"]):
            raise Bad("malformed")
        return b["size"], bytes.fromhex(b["root"]), t

    def checkpoint(self, line: dict[str, Any]) -> None:
        try:
            size, root, t = self.open_cp(line["signed"])
        except Bad as exc:
            self.emit(str(exc), line=self.n)
            m = re.search(rb'"size":(\d{1,18})', line["signed"])
            if m:
                self.bad_sizes.add(int(m.group(1)))
            self.window = None
            return
        prev = self.last_cp
        if prev is not None and size <= prev[0]:
            known = self.cps.get(size)
            if known is not None and known[0] != root:
                self.emit("inconsistent_checkpoint", line=self.n)
            elif known is not None:
                self.emit("malformed", line=self.n)
            else:
                self.emit("reordered", line=self.n)
            return
        if prev is not None:
            if line["from"] is None or line["from"] != prev[0]:
                self.emit("unproven_checkpoint", line=self.n)
            else:
                hs = hashes(line["proof"])
                if hs is None or not consistent(prev[0], size, prev[1], root, hs):
                    self.emit("inconsistent_checkpoint", line=self.n)
            if t < prev[2] - self.tol:
                self.emit("inconsistent_checkpoint", line=self.n)
        if self.trusted is not None and self.trusted[0] == size:
            self.trusted_seen = True
            if self.trusted[1] != root and not self.given_up():
                self.emit("inconsistent_checkpoint", line=self.n)
        self.cps[size] = (root, t)
        self.last_cp = (size, root, t)
        self.window = (prev[0] if prev else 0, size, t)
        self.counts["cps"] += 1
        if size == self.h["start"]:
            self.edge["start"] = t
        if size > self.h["end"] and "after" not in self.edge:
            self.edge["after"] = t

    def log_break(self, line: dict[str, Any]) -> None:
        raw = line["signed"]
        if not raw.startswith(LOG_BREAK) or len(raw) < len(LOG_BREAK) + 66:
            return self.emit("malformed", line=self.n)
        if not ed_ok(self.hub_key, raw[-64:], raw[:-64]):
            return self.emit("bad_checkpoint_signature", line=self.n)
        try:
            b = canonical(raw[len(LOG_BREAK) : -64])
        except Bad:
            return self.emit("malformed", line=self.n)
        if not (
            isinstance(b, dict)
            and b.get("origin") == self.h["origin"]
            and isinstance(b.get("kept"), dict)
            and isinstance(b.get("given_up"), dict)
            and isinstance(b["kept"].get("size"), int)
            and isinstance(b["given_up"].get("size"), int)
            and when(b.get("time")) is not None
        ):
            return self.emit("malformed", line=self.n)
        self.breaks.append(b)
        self.emit("declared_break", line=self.n)

    def given_up(self) -> bool:
        """The file checkpoint is one a declared break gave up (said once)."""
        if self.trusted is None or self.trusted_time is None:
            return False
        covered = any(
            self.trusted[0] > b["kept"]["size"] and self.trusted_time <= (when(b["time"]) or 0)
            for b in self.breaks
        )
        if covered and not self.given_up_said:
            self.given_up_said = True
            self.emit("declared_break")
        return covered

    def cosignature(self, line: dict[str, Any]) -> None:
        size = self.cosigned_size(
            line["node"], line["signed"], {"line": self.n, "node": line["node"]}
        )
        if size is not None:
            self.cosigned[size] = self.cosigned.get(size, 0) + 1
            self.counts["cosigs"] += 1

    def cosigned_size(
        self, node: str, raw: bytes, where: dict[str, Any], want: int | None = None
    ) -> int | None:
        chain = self.chains.get(node)
        if chain is None:
            self.emit("unknown_key", **where)
            return None
        body = None
        prefix = next((p for p in COSIG if raw.startswith(p)), None)
        if prefix is not None and len(raw) >= len(prefix) + 66:
            try:
                b = canonical(raw[len(prefix) : -64])
                k = (
                    chain.key(b.get("key"))
                    if isinstance(b, dict) and isinstance(b.get("key"), str)
                    else None
                )
                if k and ed_ok(k[1]["public"], raw[-64:], raw[:-64]) and b.keys() == COSIG[prefix]:
                    body = b
            except Bad:
                body = None
        head = None
        if body is not None and "head" in body and body["head"] is not None:
            h = body["head"]
            ok = (
                isinstance(h, dict)
                and h.keys() == {"id", "seq"}
                and type(h["seq"]) is int
                and h["seq"] >= 1
                and isinstance(h["id"], str)
                and HEX64.match(h["id"])
            )
            head = (h["seq"], bytes.fromhex(h["id"])) if ok else None
            if not ok:
                body = None
        if body is None or body["node"] != node or body["origin"] != self.h["origin"]:
            self.emit("bad_cosignature", **where)
            return None
        size, root = body["size"], body["root"]
        known = self.cps.get(size) if type(size) is int else None
        if want is not None and size != want:
            self.emit("bad_cosignature", **where)
            return None
        if known is None or not isinstance(root, str):
            self.emit("bad_cosignature", **where)
            return None
        if known[0].hex() != root:
            self.emit("inconsistent_checkpoint", **where)
            return None
        if head is not None:
            chain.heads.append((head[0], head[1], where.get("line") or 0))
        return size

    # -------------------------------------------------- records

    def cover(self, leaf: int) -> None:
        nxt = self.leaf_next
        if nxt is None or leaf >= self.h["end"] or leaf < self.h["start"]:
            return
        if leaf < nxt:
            i = bisect_right(self.gaps, (leaf, leaf)) - 1
            if i >= 0 and self.gaps[i][0] <= leaf <= self.gaps[i][1]:
                lo, hi = self.gaps[i]
                self.gaps[i : i + 1] = [
                    (a, b) for a, b in ((lo, leaf - 1), (leaf + 1, hi)) if a <= b
                ]
            return
        if leaf > nxt:
            self.gaps.append((nxt, leaf - 1))
        self.leaf_next = leaf + 1

    def inclusion(self, line: dict[str, Any]) -> tuple[bool | None, str]:
        size = line["size"]
        if size is None:
            return None, "unproven_record"
        cp = self.cps.get(size)
        if cp is None:
            return False, "unproven_record" if size in self.bad_sizes else "bad_inclusion_proof"
        hs = hashes(line["proof"])
        got = (
            None
            if hs is None
            else inclusion_root(sha(b"\x00" + line["raw"]), line["leaf"], size, hs)
        )
        return (True, "") if got == cp[0] else (False, "bad_inclusion_proof")

    def record(self, line: dict[str, Any]) -> None:
        leaf, raw = line["leaf"], line["raw"]
        self.cover(leaf)
        incl, incl_cls = self.inclusion(line)
        try:
            rec = parse_record(raw)
        except Bad:
            node, seq = lenient(raw)
            self.emit(
                "malformed" if incl else "altered_record",
                line=self.n,
                node=node,
                seq=seq,
                leaf=leaf,
            )
            chain = self.chains.get(node) if node else None
            if chain is not None and seq is not None and seq >= 1 and seq not in chain.slots:
                chain.slots[seq] = [sha(raw), None, leaf, None, 0]
            return
        where = {
            "line": self.n,
            "node": rec["node"],
            "seq": rec["seq"],
            "leaf": leaf,
            "record_id": rec["id"],
        }
        pd = rec["data"].get("pd") if isinstance(rec["data"].get("pd"), dict) else {}
        for _n, path, digest in self.disclosed.pop(rec["id"], []):
            if pd.get(path) != digest:
                self.emit("bad_disclosure", **where)
        seq, rid = rec["seq"], bytes.fromhex(rec["id"])
        chain = self.chains.get(rec["node"])
        if chain is None:
            self.emit("altered_record" if incl is False else "unknown_key", **where)
            return
        held = chain.slots.get(seq)
        if held is not None and held[0] == rid:
            return self.emit("duplicate_record", **where)
        w = self.window
        if leaf > self.last_leaf and (w is None or leaf >= w[0]):
            self.last_leaf = leaf
        elif leaf <= self.last_leaf:
            self.emit("reordered", **where)
        else:
            self.emit("reordered", **where)
            self.last_leaf = leaf
        found = chain.key(rec["key"])
        sig: bool | None = None
        valid = False
        if found is None and incl is False:
            sig = False
        elif found is None:
            self.emit("unknown_key", **where)
        else:
            sig = rec["id"] in self.evidence_ok or ed_ok(found[1]["public"], raw[-64:], raw[:-64])
            valid = valid_at(found[1], seq)
            if not valid:
                self.emit("revoked_key", **where)
        if sig is False and incl is False:
            self.emit("altered_record", **where)
        elif sig is False:
            self.emit("bad_signature", **where)
        if incl is not True and not (sig is False and incl is False):
            self.emit(incl_cls, **where)
        if held is not None and (held[4] & AUTH or not sig):
            if sig:
                held[4] |= FORKED
                self.emit("fork", **where)
            return
        flags = (AUTH if sig else 0) | (INCL if incl else 0) | (HASPREV if rec["prev"] else 0)
        chain.slots[seq] = [rid, rec["prev"], leaf, None if found is None else found[0], flags]
        if self.h["start"] <= leaf < self.h["end"]:
            self.counts["in_period"] += 1
        if not incl:
            return
        self.pending.pop(rec["id"], None)
        if not sig or found is None or not valid:
            return
        self.counts["verified"] += 1
        if (
            rec["dossier"] is not None
            and chain.node != self.h["hub_id"]
            and chain.agency is not None
        ):
            if rec["dossier"].rsplit("-", 2)[0] == chain.agency:
                chain.agree += 1
            else:
                chain.conflicts += 1
                chain.conflict = chain.conflict or (self.n, seq, leaf, rec["id"], rec["dossier"])
        if rec["type"] == "chain.break" and rec["node"] != self.h["hub_id"]:
            self.declared_gap(rec, chain, where)
        if rec["type"] == "key.rotated" and rec["node"] != self.h["hub_id"]:
            self.rotation_in_log(rec, chain, found[1])
        elif rec["type"] == "key.revoked" and rec["node"] == self.h["hub_id"]:
            self.revocation_in_log(rec)
        self.times(rec, chain, leaf, where)

    def declared_gap(self, rec: dict[str, Any], chain: Chain, where: dict[str, Any]) -> None:
        """records.md, "Declared chain breaks": the payload must name the break's own seq,
        a last seq not before it, its own prev as last_good, next_prev 64 hex or null."""
        d = rec["data"]
        first, last, nxt = d.get("first_seq"), d.get("last_seq"), d.get("next_prev")
        ok = (
            rec["dossier"] is None
            and type(first) is int
            and first == rec["seq"]
            and type(last) is int
            and first <= last < 2**53
            and d.get("last_good") == rec["prev"]
            and (nxt is None or (isinstance(nxt, str) and HEX64.match(nxt) is not None))
            and isinstance(d.get("reason"), str)
            and 1 <= len(d["reason"]) <= 500
        )
        if not ok:
            return self.emit("malformed", **where)
        chain.breaks[rec["seq"]] = (last, nxt or rec["id"])
        self.notice("declared_gap", **where)

    def rotation_in_log(self, rec: dict[str, Any], chain: Chain, signer: dict[str, Any]) -> None:
        try:
            new_id, new_hex = self.rotation_terms(rec)
        except Bad:
            return self.emit("unproven_key", line=self.n, node=rec["node"])
        known = chain.key(new_id)
        if signer["end_rot"] is None:
            signer["end_rot"] = rec["seq"]
            self.emit("unproven_key", line=self.n, node=rec["node"])
        if known is None:
            chain.keys.append(
                {
                    "id": new_id,
                    "public": bytes.fromhex(new_hex),
                    "first": rec["seq"] + 1,
                    "end_rot": None,
                    "end_rev": None,
                }
            )
            self.emit("unproven_key", line=self.n, node=rec["node"])
        elif known[1]["first"] != rec["seq"] + 1:
            self.emit("unproven_key", line=self.n, node=rec["node"])

    def revocation_in_log(self, rec: dict[str, Any]) -> None:
        try:
            node, key, last = self.revocation_terms(rec)
        except Bad:
            return
        chain = self.chains.get(node)
        found = None if chain is None else chain.key(key)
        if chain is None or found is None:
            return
        index, state = found
        if state["end_rev"] is not None and state["end_rev"] <= last:
            return
        before = last_valid(state)
        state["end_rev"] = last
        self.emit("unproven_key", line=self.n, node=node)
        for seq in sorted(chain.slots):
            s = chain.slots[seq]
            if seq > last and (before is None or seq <= before) and s[3] == index and s[4] & AUTH:
                self.emit("revoked_key", node=node, seq=seq, leaf=s[2], record_id=s[0].hex())

    def times(self, rec: dict[str, Any], chain: Chain, leaf: int, where: dict[str, Any]) -> None:
        at = when(rec["at"])
        assert at is not None
        seen = None
        a = rec["anchor"]
        if a is None:
            self.counts["no_anchor"] += 1
        elif a["size"] > leaf:
            self.emit("anchor_missing", **where)
        elif (
            not (a["size"] == 0 and a["root"] == EMPTY_ROOT.hex())
            and a["size"] not in self.bad_sizes
        ):
            cp = self.cps.get(a["size"])
            broken = any(b["kept"]["size"] < a["size"] for b in self.breaks)
            if (cp is None or cp[0].hex() != a["root"]) and broken:
                self.emit("declared_break", **where)
            elif cp is None or cp[0].hex() != a["root"]:
                self.emit("anchor_missing", **where)
            else:
                seen = cp[1]
                if at < seen - self.tol:
                    self.emit("backdated", **where)
        w = self.window
        if w is None or not w[0] <= leaf < w[1]:
            return
        if at > w[2] + self.tol:
            self.emit("postdated", **where)
        if seen is None or a is None:
            return
        run, lag = chain.offline, w[2] - seen
        if lag <= self.offline:
            if run is not None:
                self.flush(chain)
        elif run is not None and run[0] == a["size"]:
            run[2] = rec["seq"]
        else:
            self.flush(chain)
            chain.offline = [a["size"], rec["seq"], rec["seq"], leaf, rec["id"]]

    def flush(self, chain: Chain) -> None:
        run, chain.offline = chain.offline, None
        if run is not None:
            self.emit("offline_window", node=chain.node, seq=run[1], leaf=run[3], record_id=run[4])

    # -------------------------------------------------- after the last line

    def finish(self) -> dict[str, Any]:
        if self.phase == 0:
            raise Unusable("empty")
        if self.phase == 1:
            self.open_log()
        if not self.ended:
            self.emit("truncated", line=self.n)
        for chain in self.chains.values():
            self.flush(chain)
        for node, _key, n in self.pending.values():
            self.emit("unproven_key", line=n, node=node)
        for items in self.disclosed.values():  # disclosed for a record not in the bundle
            for n, _path, _digest in items:
                self.emit("bad_disclosure", line=n)
        for chain in self.chains.values():
            self.chain_findings(chain)
        self.edges()
        if self.leaf_next is not None:
            if self.leaf_next < self.h["end"]:
                self.gaps.append((self.leaf_next, self.h["end"] - 1))
            for lo, _hi in self.gaps:
                self.emit("dropped_record", leaf=lo)
        if self.file_cosig is not None and self.trusted is not None:
            node, raw = self.file_cosig
            if node in self.chains:
                self.cosigned_size(node, raw, {"node": node}, want=self.trusted[0])
        for chain in self.chains.values():
            for seq, rid, line in chain.heads:
                s = chain.slots.get(seq)
                if s is not None and s[4] & AUTH and s[0] != rid:
                    self.emit(
                        "fork",
                        line=line or None,
                        node=chain.node,
                        seq=seq,
                        leaf=s[2],
                        record_id=s[0].hex(),
                    )
            if chain.heads and chain.head < max(chain.heads)[0]:
                top = max(chain.heads)
                self.emit("missing_end", line=top[2] or None, node=chain.node, seq=chain.head + 1)
        self.enrolment()
        for chain in self.chains.values():
            if chain.conflict is not None:
                n, seq, leaf, rid, _ = chain.conflict
                self.emit("mislabelled", line=n, node=chain.node, seq=seq, leaf=leaf, record_id=rid)
        if self.trusted is not None and not self.trusted_seen and not self.given_up():
            self.emit("unlinked_checkpoint")
        if self.min_cosigs and max(self.cosigned.values(), default=0) < self.min_cosigs:
            self.emit("unwitnessed")
        return {
            "ok": not self.findings,
            "counts": {
                "lines": self.n,
                "records": self.kinds["record"],
                "records_verified": self.counts["verified"],
                "records_in_period": self.counts["in_period"],
                "records_without_anchor": self.counts["no_anchor"],
                "nodes": len(self.chains),
                "keys": sum(len(c.keys) for c in self.chains.values()),
                "checkpoints": self.counts["cps"],
                "cosignatures": self.counts["cosigs"],
                "witnessed_checkpoints": len(self.cosigned),
            },
            "findings": self.findings,
            "notices": self.notices,
        }

    def enrolment(self) -> None:
        raw, prefix = self.file_enrolment, b"vn-dossier/enrolment/v1\n"
        if raw is None:
            return
        signed = raw.startswith(prefix) and len(raw) >= len(prefix) + 66
        if signed and not ed_ok(self.hub_key, raw[-64:], raw[:-64]):
            return self.emit("bad_checkpoint_signature")
        names = {"agency_code", "commune_name", "node", "origin", "public_key", "time"}
        try:
            b = canonical(raw[len(prefix) : -64]) if raw.startswith(prefix) else None
        except Bad:
            b = None
        if (
            not isinstance(b, dict)
            or b.keys() != names
            or not all(isinstance(v, str) for v in b.values())
            or b["origin"] != self.h["origin"]
            or len(raw) < len(prefix) + 66
        ):
            return self.emit("malformed")
        chain = self.chains.get(b["node"])
        if chain is None:
            return
        if chain.agency != b["agency_code"] or chain.name != b["commune_name"]:
            self.emit("mislabelled", node=chain.node)

    def chain_findings(self, chain: Chain) -> None:
        start, end = self.h["start"], self.h["end"]
        prev = first = None
        unsigned = 0
        for seq in sorted(chain.slots):
            cur = (seq, *chain.slots[seq])  # seq, id, prev, leaf, key, flags
            if not cur[5] & AUTH:
                unsigned += 1
                continue
            brk = chain.breaks.get(prev[0]) if prev is not None else None
            if prev is None:
                first = cur
            elif brk is not None:  # §7.7: after a declared break
                last, nxt = brk
                if seq in (prev[0] + 1, last + 1):
                    named = ({nxt} if seq == last + 1 else set()) | (
                        {prev[1].hex()} if seq == prev[0] + 1 else set()
                    )
                    if cur[5] & HASPREV and cur[2] not in named:
                        self.emit(
                            "fork", node=chain.node, seq=seq, leaf=cur[3], record_id=cur[1].hex()
                        )
                else:
                    gap_from = prev[0] + 1 if seq <= last else last + 1
                    if chain.complete and seq - gap_from > unsigned:
                        self.gap(chain, prev[3], cur[3], gap_from)
            elif seq == prev[0] + 1:
                if (
                    cur[5] & HASPREV
                    and not prev[5] & FORKED
                    and bytes.fromhex(cur[2])[:16] != prev[1][:16]
                ):
                    self.emit("fork", node=chain.node, seq=seq, leaf=cur[3], record_id=cur[1].hex())
            elif chain.complete and seq - prev[0] - 1 > unsigned:
                self.gap(chain, prev[3], cur[3], prev[0] + 1)
            if prev is not None and prev[5] & cur[5] & INCL and cur[3] < prev[3]:
                self.emit(
                    "reordered", node=chain.node, seq=seq, leaf=cur[3], record_id=cur[1].hex()
                )
            prev, unsigned = cur, 0
        if not chain.complete:
            return
        if first is None or prev is None:
            if chain.head > 0 and not chain.slots:
                self.emit("missing_start", node=chain.node)
            return
        if first[0] > 1 and first[3] >= start and first[0] - 1 not in chain.slots:
            self.emit(
                "missing_start",
                node=chain.node,
                seq=first[0],
                leaf=first[3],
                record_id=first[1].hex(),
            )
        brk = chain.breaks.get(prev[0])
        after = prev[0] + 1 if brk is None else brk[0] + 1
        if (
            prev[3] < end
            and chain.head > prev[0]
            and after not in chain.slots
            and prev[0] + 1 not in chain.slots
        ):
            self.emit("missing_end", node=chain.node, seq=after)

    def gap(self, chain: Chain, lo: int, hi: int, seq: int) -> None:
        """§7.7: seqs from ``seq`` are missing between leaves ``lo`` and ``hi``."""
        start, end = self.h["start"], self.h["end"]
        if hi < start or lo >= end:
            return
        cls = "missing_start" if lo < start else "missing_end" if hi >= end else "dropped_record"
        self.emit(cls, node=chain.node, seq=seq)

    def edges(self) -> None:
        h = self.h
        for size in (h["start"], h["end"]):
            if size > 0 and size not in self.cps:
                self.emit("unproven_checkpoint")
        if h["since"] is None and h["start"] != 0:
            self.emit("missing_start", line=1)
        newest = self.last_cp[0] if self.last_cp else 0
        if h["until"] is None and h["end"] != newest:
            self.emit("missing_end", line=1)
        st, af = self.edge.get("start"), self.edge.get("after")
        if self.since is not None and st is not None and st >= self.since + self.tol:
            self.emit("missing_start")
        if self.until is not None and af is not None and af < self.until - self.tol:
            self.emit("missing_end")


def verify(
    lines: list[bytes],
    *,
    hub_key: bytes | None = None,
    checkpoint_file: bytes | None = None,
    min_cosignatures: int = 0,
    max_offline_days: float = 7,
    tolerance_minutes: float = 5,
) -> dict[str, Any]:
    """Verify a bundle (its lines); raises :class:`Unusable` for unusable input (exit 2)."""
    policy = {
        "min_cosignatures": min_cosignatures,
        "max_offline_days": max_offline_days,
        "tolerance_minutes": tolerance_minutes,
    }
    v = Verifier(hub_key, checkpoint_file, policy)
    for line in lines:
        v.feed(line)
    return v.finish()


def findings_key(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Findings as comparable tuples (class, line, node, seq, leaf, record id), sorted."""
    names = ("class", "line", "node", "seq", "leaf", "record_id")
    return sorted((tuple(f.get(k) for k in names) for f in found), key=repr)
