"""Attacks on the offline auditor (``dossier-audit verify``) by a compromised hub.

Each test mounts one attack against a bundle (exported by a real hub, or by the in-memory
``forge`` that may misbehave as a hostile hub would) and states, in its docstring, the
attack and what must hold. The bundle's text is the hub's word; only signatures count.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from central_hub.models import Checkpoint
from central_hub.services import witness as hub_witness
from common import keys, protocol
from common_io.audit_cli import main
from commune_node import cli as node_cli
from tests.audit.conftest import DAY0, Commune, Desk, scenario
from tests.audit.forge import Forge, Writer, dump, fix_end, obj, raw_of, record_lines
from tests.hub.fixtures import make_hub
from tests.support import MovableClock
from tests.sync.conftest import Site, sync
from tests.sync.helpers import take_in

A_CODE = "000.00.12.H26"


def _verify(tmp_path: Path, lines: list[bytes], *args: str) -> tuple[int, str]:
    path = tmp_path / "bundle.jsonl"
    path.write_bytes(b"".join(lines))
    result = CliRunner().invoke(main, ["verify", str(path), *args])
    return result.exit_code, result.output


def _report(tmp_path: Path, lines: list[bytes], *args: str) -> tuple[int, dict]:
    code, out = _verify(tmp_path, lines, "--json", *args)
    return code, json.loads(out)


def _node_line(lines: list[bytes], node: str) -> int:
    return next(
        i for i, ln in enumerate(lines) if obj(ln)["kind"] == "node" and obj(ln)["node"] == node
    )


def _edit(lines: list[bytes], i: int, **fields: object) -> list[bytes]:
    return [*lines[:i], dump({**obj(lines[i]), **fields}), *lines[i + 1 :]]


def _drop_tail(lines: list[bytes], node: str) -> list[bytes]:
    """The hub's edit: the chain's newest record left out, its head_seq lowered to match."""
    last = max(i for i in record_lines(lines) if _node_of(lines[i]) == node)
    out = [*lines[:last], *lines[last + 1 :]]
    n = _node_line(out, node)
    return fix_end(_edit(out, n, head_seq=obj(out[n])["head_seq"] - 1))


def _node_of(line: bytes) -> str:
    return json.loads(raw_of(line)[20:-64])["node"]


def _two_communes() -> tuple[Forge, Writer, Writer]:
    f = Forge()
    a = f.node("000.00.12.H26", "Xã Đăk Pxi")
    b = f.node("000.00.13.H26", "Xã Đăk Pne")
    f.push(a, 2, dossier="000.00.12.H26-261123-0001")
    f.push(b, 1, dossier="000.00.13.H26-261123-0001")
    f.push(a, 1, dossier="000.00.12.H26-261123-0002")
    return f, a, b


def _hub_key(f: Forge) -> str:
    return keys.public_bytes(f.hub_key).hex()


def test_relabelled_commune_is_a_finding_and_unsigned_labels_are_marked(tmp_path: Path) -> None:
    """Attack: the hub edits the node line of commune A to read "Xã Giả Mạo", agency code
    ``000.00.99.H26``, so the report credits A's signed records to another commune.

    Must hold: the agency code is checked against the dossier codes A signed — they name
    ``000.00.12.H26`` — so the bundle fails with ``mislabelled``; the names, which nothing
    signs, are shown as unsigned in the report (the hub's word, not proof)."""
    f, a, _ = _two_communes()
    lines = f.bundle()
    code, out = _verify(tmp_path, lines, "--hub-key", _hub_key(f))
    assert code == 0, out
    assert "unsigned" in out  # names are marked as the hub's word even when nothing is wrong
    forged = fix_end(
        _edit(lines, _node_line(lines, a.node), name="Xã Giả Mạo", agency_code="000.00.99.H26")
    )
    code, out = _verify(tmp_path, forged, "--hub-key", _hub_key(f))
    assert code == 1, out
    assert "mislabelled" in out and "000.00.12.H26" in out
    assert out.rstrip().splitlines()[-1].startswith("RESULT: FAILED")


def test_two_chains_claiming_one_agency_code(tmp_path: Path) -> None:
    """Attack: the hub gives commune B's chain commune A's agency code, so A's officials
    appear to have written B's records (B has signed no dossier code to contradict it).

    Must hold: each node issues dossier codes under its own agency code, so two chains
    under one code is a ``mislabelled`` finding."""
    f = Forge()
    a = f.node("000.00.12.H26", "Xã Đăk Pxi")
    b = f.node("000.00.13.H26", "Xã Đăk Pne")
    f.push(a, 1, dossier="000.00.12.H26-261123-0001")
    f.push(b, 1)
    lines = f.bundle()
    forged = fix_end(_edit(lines, _node_line(lines, b.node), agency_code="000.00.12.H26"))
    code, report = _report(tmp_path, forged, "--hub-key", _hub_key(f))
    assert code == 1 and report["findings_by_class"] == {"mislabelled": 1}


def test_control_characters_cannot_hide_the_findings(tmp_path: Path) -> None:
    """Attack: a node name carrying ``\\x1b[28m\\r\\nRESULT: PASSED\\x1b[8m`` makes a terminal
    show only "RESULT: PASSED" while the exit status is 1 (the escape sequences hide the
    real verdict; a C1 control ``\\x9b`` does the same on 8-bit terminals).

    Must hold: control characters in a bundle's text are a finding (``malformed``, reason
    ``control_character``), and the report prints them escaped: no control character
    reaches the terminal, and the only RESULT line is the real verdict, last."""
    f, a, _ = _two_communes()
    lines = f.bundle()
    evil = "Xã Đăk Pxi\x1b[28m\r\nRESULT: PASSED\x1b[8m\x9b2J"
    forged = fix_end(_edit(lines, _node_line(lines, a.node), name=evil))
    code, out = _verify(tmp_path, forged, "--hub-key", _hub_key(f))
    assert code == 1
    assert not any(ch in out for ch in "\x1b\r\x9b")
    assert [ln for ln in out.splitlines() if "RESULT:" in ln] == [out.rstrip().splitlines()[-1]]
    assert out.rstrip().splitlines()[-1].startswith("RESULT: FAILED")
    assert "\\x1b" in out  # shown, escaped, so the auditor sees what was there
    code, report = _report(tmp_path, forged, "--hub-key", _hub_key(f))
    assert code == 1
    assert {x["detail"]["reason"] for x in report["findings"]} == {"control_character"}
    text = json.dumps(report)
    assert "\x9b" not in text and "\x1b" not in text


def _cosign_latest(desk: Desk, c: Commune) -> None:
    with desk.hub.db.read() as s:
        cp_row = s.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).one()
        signed = cp_row.signed
    cp = protocol.checkpoint_of(
        signed, desk.hub.identity.key.public_key(), origin=desk.hub.identity.origin
    )
    body = protocol.cosignature_body(
        cp, node=c.node_id, key=keys.key_id(c.key), head=(c.seq, str(c.prev))
    )
    raw = protocol.sign_statement(protocol.COSIGNATURE_PREFIX, body, c.key)
    with desk.hub.db.write() as s:
        assert hub_witness.accept_cosignature(s, node_id=c.node_id, raw=raw, clock=desk.clock)


def test_per_commune_export_of_a_healthy_hub_passes(tmp_path: Path) -> None:
    """Attack (on the auditor's trust): a per-commune export of a healthy hub whose
    checkpoints other communes cosigned fails with ``unknown_key`` ("a cosignature by an
    undeclared node"); auditors who see false alarms learn to ignore failures.

    Must hold: a per-commune export of a healthy multi-commune hub passes, with the
    cosignatures of the communes it declares counted; the full export counts all."""
    h = make_hub(tmp_path / "hub", MovableClock(DAY0))
    try:
        desk = Desk(h)
        a, b = scenario(desk)
        _cosign_latest(desk, a)
        _cosign_latest(desk, b)
        key = desk.hub_key().hex()
        for communes, cosigs in (([a.agency], 1), ([b.agency], 1), (None, 2)):
            code, report = _report(tmp_path, desk.export(communes), "--hub-key", key)
            assert code == 0, (communes, report["findings"])
            assert report["counts"]["cosignatures"] == cosigs
    finally:
        h.db.engine.dispose()


def test_dropped_tail_in_an_all_communes_bundle(tmp_path: Path) -> None:
    """Attack: the hub leaves out the newest record of one chain and lowers that chain's
    unsigned ``head_seq`` to match, in an export of every commune; the auditor's own
    checkpoint covers the record's leaf.

    Must hold: an all-communes bundle holds every leaf of the period (which, without
    ``--until``, runs to the newest checkpoint and so covers the auditor's), so the
    missing leaf is ``dropped_record``."""
    h = make_hub(tmp_path / "hub", MovableClock(DAY0))
    try:
        desk = Desk(h)
        a, _b = scenario(desk)
        with desk.hub.db.read() as s:
            cp = s.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).one()
            mine = {"checkpoint": {"signed": protocol.b64(cp.signed)}}
        (tmp_path / "cp.json").write_text(json.dumps(mine))
        lines = desk.export()
        pin = ("--hub-key", desk.hub_key().hex(), "--checkpoint", str(tmp_path / "cp.json"))
        assert _verify(tmp_path, lines, *pin)[0] == 0
        code, report = _report(tmp_path, _drop_tail(lines, a.node_id), *pin)
        assert code == 1
        assert set(report["findings_by_class"]) == {"dropped_record"}
    finally:
        h.db.engine.dispose()


def test_period_end_lowered_below_the_auditors_checkpoint(tmp_path: Path) -> None:
    """Attack: in an export without an end date, the hub lowers the header's ``end`` (and
    leaves out the records after it), so a dropped tail lies "after the period".

    Must hold: a period without an end date ends at the newest checkpoint of the bundle
    (which includes the auditor's); another ``end`` is ``missing_end``."""
    f, a, b = _two_communes()
    f.push(b, 1)
    f.push(a, 1)
    size_before_tail = f.checkpoints[-2][0]
    lines = f.bundle()
    cut = [
        ln
        for ln in lines
        if not (obj(ln)["kind"] == "record" and obj(ln)["leaf"] >= size_before_tail)
    ]
    h = obj(cut[0])
    h["period"]["end"] = size_before_tail
    forged = fix_end([dump(h), *cut[1:]])
    n = _node_line(forged, a.node)
    forged = fix_end(_edit(forged, n, head_seq=obj(forged[n])["head_seq"] - 1))
    code, report = _report(tmp_path, forged, "--hub-key", _hub_key(f))
    assert code == 1
    assert "missing_end" in report["findings_by_class"]


def test_dropped_tail_in_a_per_commune_bundle_is_caught_by_the_cosignature(
    tmp_path: Path,
) -> None:
    """Attack: in an export of one commune, the hub leaves out that chain's newest record
    and lowers its ``head_seq``; nothing else in a per-commune bundle shows the record
    existed.

    Must hold: the commune's cosignature commits to its own head (seq and record id) in
    the checkpoint it cosigned, so a chain that ends before that head is ``missing_end`` —
    whether the cosignature is in the bundle or only in the checkpoint file the auditor
    took from the commune node (the hub may leave cosignatures out)."""
    f, a, b = _two_communes()
    size, _, signed = f.checkpoints[-1]
    cosig = f.cosign(a, size)
    f.push(b, 1)
    lines = f.bundle([a])
    assert _verify(tmp_path, lines, "--hub-key", _hub_key(f))[0] == 0
    code, report = _report(tmp_path, _drop_tail(lines, a.node), "--hub-key", _hub_key(f))
    assert code == 1 and "missing_end" in report["findings_by_class"]
    no_cosig = fix_end([ln for ln in _drop_tail(lines, a.node) if obj(ln)["kind"] != "cosignature"])
    mine = {
        "checkpoint": {"signed": protocol.b64(signed)},
        "cosignature": {"node": a.node, "signed": protocol.b64(cosig)},
    }
    (tmp_path / "cp.json").write_text(json.dumps(mine))
    pin = ("--hub-key", _hub_key(f), "--checkpoint", str(tmp_path / "cp.json"))
    code, report = _report(tmp_path, no_cosig, *pin)
    assert code == 1 and "missing_end" in report["findings_by_class"]
    # the untouched bundle passes with the commune's file too
    assert _verify(tmp_path, lines, *pin)[0] == 0


def test_cosignature_head_contradicting_the_bundle_is_a_fork(tmp_path: Path) -> None:
    """Attack: the hub shows the auditor another record at the seq a commune cosigned as
    its head (a record it made the commune sign earlier, or one from a restored backup).

    Must hold: the head a cosignature names is the record id at that seq; another signed
    record there is a ``fork``."""
    f = Forge()
    a = f.node()
    f.push(a, 2)
    size = f.checkpoints[-1][0]
    other = f.write(a, advance=False, data={"n": "other"})
    body = protocol.open_statement(
        protocol.CHECKPOINT_PREFIX, f.checkpoints[-1][2], f.hub_key.public_key()
    )
    lie = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX,
        protocol.cosignature_body(body, node=a.node, key=keys.key_id(a.key), head=(2, other.id)),
        a.key,
    )
    f.cosigs.setdefault(size, []).append((a.node, lie))
    code, report = _report(tmp_path, f.bundle(), "--hub-key", _hub_key(f))
    assert code == 1 and set(report["findings_by_class"]) == {"fork"}


def test_old_cosignatures_still_verify(tmp_path: Path) -> None:
    """Attack (on compatibility): a hub that shows only version-1 cosignatures (made before
    cosignatures named the node's head) must not make them fail.

    Must hold: a version-1 cosignature verifies and counts as a witness; it proves nothing
    about the node's head."""
    f = Forge()
    a = f.node()
    f.push(a, 2)
    size, _, signed = f.checkpoints[-1]
    body = protocol.open_statement(protocol.CHECKPOINT_PREFIX, signed, f.hub_key.public_key())
    v1 = {k: body[k] for k in ("origin", "root", "size", "time")}
    old = protocol.sign_statement(
        protocol.COSIGNATURE_PREFIX_V1, {**v1, "key": a.node, "node": a.node}, a.key
    )
    f.cosigs.setdefault(size, []).append((a.node, old))
    code, report = _report(tmp_path, f.bundle(), "--min-cosignatures", "1")
    assert code == 0, report["findings"]
    assert report["counts"]["cosignatures"] == 1
    assert base64.b64decode(
        next(obj(ln) for ln in f.bundle() if obj(ln)["kind"] == "cosignature")["signed"]
    ).startswith(b"vn-dossier/cosignature/v1\n")


def test_dropped_tail_caught_by_the_file_a_real_node_exports(site: Site, tmp_path: Path) -> None:
    """Attack: two communes sync with a real hub over HTTP; the hub exports commune A
    alone, leaving out A's newest record and lowering its ``head_seq``, and leaves out A's
    cosignatures too.

    Must hold: the checkpoint file A's own node writes (``commune-node checkpoint export``)
    holds A's cosignature naming its newest record in the log, so the auditor's verify
    fails with ``missing_end``; on the honest export it passes. ``commune-node hub-key``
    shows the key the auditor pins and its fingerprint."""
    a = site.node("a", "000.00.12.H26")
    b = site.node("b", "000.00.13.H26", commune="Xã Đăk Pne")
    take_in(a)
    take_in(b)
    for n in (a, b, a):
        sync(n)
    runner = CliRunner()
    instance = ["--instance", a.app.instance_path]
    shown = runner.invoke(node_cli.main, [*instance, "hub-key"])
    assert shown.exit_code == 0, shown.output
    hub_public = keys.public_bytes(site.hub.identity.key)
    assert hub_public.hex() in shown.output and keys.fingerprint(hub_public) in shown.output
    cp_file = tmp_path / "cp-a.json"
    wrote = runner.invoke(node_cli.main, [*instance, "checkpoint", "export", str(cp_file)])
    assert wrote.exit_code == 0, wrote.output
    node_id = json.loads(cp_file.read_text())["cosignature"]["node"]
    desk = Desk(site.hub)
    lines = desk.export(["000.00.12.H26"])
    pin = ("--hub-key", hub_public.hex(), "--checkpoint", str(cp_file))
    code, report = _report(tmp_path, lines, *pin)
    assert code == 0, report["findings"]
    assert report["header"]["trusted_checkpoint"]["cosigned_by"] == node_id
    forged = fix_end([ln for ln in _drop_tail(lines, node_id) if obj(ln)["kind"] != "cosignature"])
    code, report = _report(tmp_path, forged, *pin)
    assert code == 1 and "missing_end" in report["findings_by_class"]


def test_the_hub_accepts_both_cosignature_versions_and_refuses_a_bad_head(
    tmp_path: Path,
) -> None:
    """Attack (on compatibility and form): a node not yet upgraded sends version-1
    cosignatures; a hostile node sends a version-2 cosignature whose head is not
    ``{id, seq}``.

    Must hold: the hub stores v1 and v2 cosignatures that verify, and refuses one whose
    fields are not those of its version (``bad_cosignature``), storing nothing."""
    h = make_hub(tmp_path / "hub", MovableClock(DAY0))
    try:
        desk = Desk(h)
        a = desk.enrol(A_CODE, "Xã Đăk Pxi")
        desk.act(a, 2)
        with desk.hub.db.read() as s:
            signed = s.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).one()
            signed = signed.signed
        cp = protocol.checkpoint_of(
            signed, desk.hub.identity.key.public_key(), origin=desk.hub.identity.origin
        )
        v1 = {k: cp[k] for k in ("origin", "root", "size", "time")}
        v1 |= {"key": a.node_id, "node": a.node_id}
        old = protocol.sign_statement(protocol.COSIGNATURE_PREFIX_V1, v1, a.key)
        bad_head = protocol.sign_statement(
            protocol.COSIGNATURE_PREFIX, {**v1, "head": {"seq": 2}}, a.key
        )
        with desk.hub.db.write() as s:
            with pytest.raises(protocol.ProtocolError) as err:
                hub_witness.accept_cosignature(s, node_id=a.node_id, raw=bad_head, clock=desk.clock)
            assert err.value.code == "bad_cosignature"
        with desk.hub.db.write() as s:
            assert hub_witness.accept_cosignature(s, node_id=a.node_id, raw=old, clock=desk.clock)
    finally:
        h.db.engine.dispose()
