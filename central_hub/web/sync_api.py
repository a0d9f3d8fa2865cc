"""The sync API nodes talk to (``/sync/v1``). Specified in docs/sync-protocol.md.

Every route but ``enrol`` and ``hello`` needs a request signed by the node key. Views parse,
call a service, and answer; errors are ``{"error": {code, message, message_vi, retryable}}``.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from central_hub import journal
from central_hub.models import Node
from central_hub.services import (
    disclosures,
    encryption_keys,
    feed,
    ingest,
    logbreak,
    nodes,
    publishing,
    recovery,
    requests,
    translog,
    witness,
)
from central_hub.services import history as history_service
from central_hub.services import refill as refill_service
from central_hub.services import reintroduce as reintroduce_service
from central_hub.services.identity import HubIdentity
from central_hub.web import admission
from central_hub.web.auth import csrf
from central_hub.web.context import clock, database, hub_identity
from central_hub.web.openapi import openapi_document
from common import canonical, personal, protocol
from common.errors import DossierError, EncodingError
from common_io import throttle

bp = Blueprint("sync", __name__, url_prefix="/sync/v1")
csrf.exempt(bp)
admission.init_blueprint(bp)  # first: a busy hub turns a request away before any work
PULL_MAX_BYTES = 256 * 1024
OPEN_BODY_BYTES = 16 * 1024  # enrol and reintroduce: no key, so a small body
BODY_LIMITS = {  # endpoint -> the largest body it reads (others: MAX_CONTENT_LENGTH)
    "sync.push": protocol.MAX_BODY_BYTES,
    "sync.enrol": OPEN_BODY_BYTES,
    "sync.reintroduce": OPEN_BODY_BYTES,
}
GZIP_MIN_BYTES = 512  # smaller answers gain less than gzip's own 18 bytes and a header


def limit_body(limit: int) -> None:
    """Refuse a body over ``limit`` bytes before anything reads it: by its declared length
    at once, and a chunked one as soon as it passes the limit."""
    request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge(
            f"the body is {length} bytes; {request.path} takes at most {_size(limit)} "
            f"({limit} bytes)"
        )


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"


@bp.before_request
def _body_limit() -> None:
    limit = BODY_LIMITS.get(request.endpoint or "")
    if limit is not None:
        limit_body(limit)


def _too_many(en: str, vi: str, retry_after: int) -> Response:
    resp = jsonify(
        {"error": {"code": "rate_limited", "message": en, "message_vi": vi, "retryable": True}}
    )
    resp.status_code = 429
    resp.headers["Retry-After"] = str(retry_after)
    return resp


def _enrol_throttled() -> Response | None:
    if throttle.enrol_allowed():
        return None
    return _too_many(
        "too many enrolment requests from this address; try again later",
        "Quá nhiều yêu cầu đăng ký từ địa chỉ này; thử lại sau",
        int(current_app.config["ENROL_WINDOW"]),
    )


@bp.after_request
def _gzip_json(resp: Response) -> Response:
    """JSON answers go gzip-compressed to a node that accepts it: hashes are hex and
    statements base64, so a push answer shrinks by about half on a 2G link. Batches
    (already zlib) and small answers go as they are."""
    accepts = request.headers.get("Accept-Encoding", "")
    if (
        resp.mimetype != "application/json"
        or resp.direct_passthrough
        or "Content-Encoding" in resp.headers
        or "gzip" not in {part.split(";")[0].strip() for part in accepts.split(",")}
    ):
        return resp
    data = resp.get_data()
    if len(data) < GZIP_MIN_BYTES:
        return resp
    resp.set_data(gzip.compress(data, compresslevel=6, mtime=0))
    resp.headers["Content-Encoding"] = "gzip"
    resp.vary.add("Accept-Encoding")
    return resp


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadRequest(f"query parameter '{name}' must be a whole number from {lo} to {hi}")
    return int(raw)


def _authenticate() -> None:
    """Check the request signature; record the node's queue report and any cosignature (in
    the same transaction as the nonce, see :func:`requests.authenticate`)."""
    body = request.get_data(cache=True)
    cosig = request.headers.get("X-Cosignature")

    def report(session: Session, node: Node) -> None:
        waiting = _int_arg("waiting", None, 0, 10**12)
        oldest = _int_arg("oldest", None, 0, 10**11)
        requests.touch(
            session,
            node.node_id,
            waiting=waiting,
            oldest=datetime.fromtimestamp(oldest, UTC) if oldest else None,
            clock=clock(),
            sealing=_sealing_arg(),
        )
        known = _int_arg("known", None, 0, 2**53)
        if known is not None:  # a node that reports counts as heard from by a recovery
            claim = witness.weigh_known(
                session,
                node_id=node.node_id,
                known=known,
                evidence=_known_evidence(),
                hub=hub_identity(),
                clock=clock(),
            )
            if claim.given_up is not None:
                g.log_break = logbreak.answer(claim.given_up)
            rec = recovery.note_witness(
                session, node_id=node.node_id, known=known, proven=claim.proven, clock=clock()
            )
        else:
            rec = recovery.current(session)
        if rec is not None and current_app.extensions.get("journal_staged") != rec.opened_at:
            refill_service.stage_hub_records(
                session, journal.read(journal.path_of(current_app)), hub=hub_identity(),
                clock=clock(),
            )  # fmt: skip
            current_app.extensions["journal_staged"] = rec.opened_at
        if cosig and len(cosig) < 2048:
            witness.accept_cosignature(
                session,
                node_id=node.node_id,
                raw=protocol.unb64(cosig, "X-Cosignature"),
                clock=clock(),
            )

    try:
        g.node = requests.authenticate(
            database(),
            request.headers,
            method=request.method,
            path=request.full_path.rstrip("?"),
            body=body,
            clock=clock(),
            then=report,
        )
    except protocol.ProtocolError as exc:
        _alert_refusal(exc)
        raise
    g.key = request.headers["X-Key"]


def _sealing_arg() -> str | None:
    """The hub encryption key id the node seals to (``sealing=``, 32 hex digits)."""
    raw = request.args.get("sealing")
    if raw is None or raw == "":
        return None
    if len(raw) != 32 or any(c not in "0123456789abcdef" for c in raw):
        raise BadRequest("query parameter 'sealing' must be a key id of 32 hex digits")
    return raw


def _known_evidence() -> bytes | None:
    """Version 2 of the ``known`` report: the hub-signed checkpoint of that size (base64,
    header ``X-Known-Checkpoint``). Anything unreadable counts as no evidence."""
    raw = request.headers.get(protocol.KNOWN_CHECKPOINT_HEADER)
    if not raw or len(raw) > 2048:
        return None
    try:
        return protocol.unb64(raw, protocol.KNOWN_CHECKPOINT_HEADER)
    except DossierError:
        return None


KEY_REFUSALS = {  # refusal code -> alert kind
    "key_revoked": "revoked_key_used",
    "node_replaced": "replaced_laptop_used",
    "key_succeeded": "replaced_key_used",
    "bad_cosignature": "bad_cosignature",
}


def _alert_refusal(exc: protocol.ProtocolError) -> None:
    """A request refused for its key or its cosignature is an alert for the administrator
    (a revoked or replaced key in use may be a stolen laptop), written in its own
    transaction so it outlives the refusal."""
    if exc.code not in KEY_REFUSALS:
        return
    node_id = request.headers.get("X-Node", "")[:32]
    with database().write() as session:
        nodes.alert_once(
            session,
            KEY_REFUSALS[exc.code],
            node_id if session.get(Node, node_id) is not None else None,
            f"{request.method} {request.path} refused ({exc.code}, key "
            f"{request.headers.get('X-Key', '')[:32]}): {exc.en}",
            clock()(),
        )


def _checkpoint_json(cp: Any) -> dict[str, Any] | None:
    return (
        None
        if cp is None
        else {"size": cp.size, "root": cp.root, "signed": protocol.b64(cp.signed)}
    )


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


@bp.get("/hello")
def hello() -> Any:
    """Unauthenticated: the hub's identity, time and latest checkpoint (for clocks and keys)."""
    hub = hub_identity()
    with database().read() as session:
        cp = translog.latest_checkpoint(session)
    return jsonify(
        {
            "hub_id": hub.hub_id,
            "public_key": hub.public_hex,
            "origin": hub.origin,
            "name": hub.name,
            "level": hub.level,
            "time": int(clock()().timestamp()),
            "checkpoint": _checkpoint_json(cp),
        }
    )


@bp.post("/enrol")
def enrol() -> Any:
    refused = _enrol_throttled()
    if refused is not None:
        return refused
    raw = request.get_data(cache=True)
    body = request.get_json(silent=True) if canonical.nesting_depth(raw) <= 4 else None
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object with code, node_id, public_key, proof")
    try:
        code, node_id, public_key = str(body["code"]), str(body["node_id"]), str(body["public_key"])
        proof = protocol.unb64(body["proof"], "proof")
    except KeyError as exc:
        raise BadRequest(f"missing field {exc.args[0]}") from exc
    if len(code) > 40 or len(node_id) != 32 or len(public_key) != 64:
        raise BadRequest("code, node_id or public_key has the wrong length")
    hub = hub_identity()
    with database().write() as session:
        result = nodes.enrol(
            session,
            code=code,
            node_id=node_id,
            public_key_hex=public_key,
            proof=proof,
            agency_code=str(body["agency_code"]) if "agency_code" in body else None,
            clock=clock(),
        )
        node = result.node
        answer: dict[str, Any] = {
            "node_id": node.node_id,
            "commune_name": node.commune_name,
            "agency_code": node.agency_code,
            "hub_id": hub.hub_id,
            "hub_public_key": hub.public_hex,
            "origin": hub.origin,
            "level": hub.level,
            "hub_name": hub.name,
            "encryption_key": _encryption_key_json(hub),
        }
        if result.key.key_id == node.node_id:
            # kept by the node: it re-introduces itself to a hub restored from an older backup
            signed = reintroduce_service.statement(node, result.key, hub=hub)
            answer["enrolment"] = protocol.b64(signed)
        else:  # a new laptop that continues the commune's chain (central-hub node replace)
            answer["key_first_seq"] = result.key.first_seq
            publishing.announce_replacement(
                session,
                hub=hub,
                node_id=node.node_id,
                key_id=result.key.key_id,
                public_key=result.key.public_key,
                first_seq=result.key.first_seq,
                replaces=nodes.replaced_keys(session, node.node_id, result.key.key_id),
                clock=clock(),
            )
    throttle.enrol_succeeded()
    return jsonify(answer), 201


@bp.get("/enrolment")
def enrolment() -> Any:
    """The hub's signed enrolment of the requesting node (for nodes enrolled before the
    enrolment answer carried it)."""
    _authenticate()
    with database().read() as session:
        signed = reintroduce_service.of_node(session, g.node.node_id, hub=hub_identity())
    return jsonify({"enrolment": protocol.b64(signed)})


@bp.post("/reintroduce")
def reintroduce() -> Any:
    """A node this hub does not know presents the enrolment this hub signed (its database
    was put back from a backup older than the enrolment). Not a signed request: the node is
    unknown; it proves it holds the enrolled key by signing the statement's hash."""
    refused = _enrol_throttled()
    if refused is not None:
        return refused
    raw = request.get_data(cache=True)
    body = request.get_json(silent=True) if canonical.nesting_depth(raw) <= 2 else None
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object with enrolment and proof")
    enrolled = protocol.unb64(body.get("enrolment"), "enrolment")
    proof = protocol.unb64(body.get("proof"), "proof")
    if len(enrolled) > 4096 or len(proof) != 64:
        raise BadRequest("enrolment or proof has the wrong length")
    shown = body.get("evidence", [])
    if not isinstance(shown, list) or len(shown) > reintroduce_service.MAX_EVIDENCE:
        raise BadRequest("evidence is a list of at most 20 records")
    evidence = [protocol.unb64(e, "evidence") for e in shown]
    with database().write() as session:
        node = reintroduce_service.reintroduce(
            session, enrolment=enrolled, proof=proof, hub=hub_identity(), clock=clock(),
            evidence=evidence,
        )  # fmt: skip
        answer = {"node_id": node.node_id, "state": node.state, "head_seq": node.head_seq}
    throttle.enrol_succeeded()
    return jsonify(answer)


@bp.get("/status")
def status() -> Any:
    """The node's head as the hub stores it, the latest checkpoint, hub time."""
    _authenticate()
    node = g.node
    with database().read() as session:
        cp = translog.latest_checkpoint(session)
        fresh = nodes.get_node(session, node.node_id)
        return jsonify(
            {
                "node_id": fresh.node_id,
                "state": fresh.state,
                "head_seq": fresh.head_seq,
                "head_id": fresh.head_id,
                "time": int(clock()().timestamp()),
                "checkpoint": _checkpoint_json(cp),
                "recovery": _recovery_json(session),
                "encryption_key": _encryption_key_json(hub_identity()),
                **({"log_break": g.log_break} if g.get("log_break") else {}),
            }
        )


def _sealed_to(session: Session, raws: list[bytes]) -> dict[str, bytes]:
    """The personal data of ``raws``, sealed to the one-time X25519 key the node sent as
    ``seal_to`` (none without it: an older node)."""
    seal_to = request.args.get("seal_to")
    if not seal_to:
        return {}
    try:
        to = personal.encryption_public_from_hex(seal_to)
    except EncodingError as exc:
        raise BadRequest("seal_to is a 64-hex-digit X25519 public key") from exc
    return disclosures.sealed_for(session, raws, to=to, hub=hub_identity())


def _encryption_key_json(hub: HubIdentity) -> str:
    """The hub's signed statement of its current encryption key (nodes seal personal data
    to it; docs/sync-protocol.md)."""
    return protocol.b64(_encryption_statement(hub))


def _encryption_statement(hub: HubIdentity | None = None) -> bytes:
    hub = hub or hub_identity()
    return protocol.encryption_key_statement(
        hub_id=hub.hub_id, public_hex=hub.encryption_public_hex, key=hub.key
    )


def _recovery_json(session: Session) -> dict[str, Any] | None:
    """While the log is rebuilt after a restore: how far it is, and the hub's own chain
    head (a node gives back the hub records it pulled after it)."""
    rec = recovery.current(session)
    if rec is None:
        return None
    hub = hub_identity()
    return {
        **recovery.status(session, rec),
        "hub_seq": feed.hub_head_seq(session, hub),
        # what the hub already holds from before, so a node on 2G sends it only once
        "staged_seq": refill_service.staged_up_to(session, g.node.node_id),
        "staged_hub_seq": refill_service.staged_up_to(session, hub.hub_id),
    }


@bp.post("/refill")
def refill() -> Any:
    """Give back records a restored hub lost (docs/sync-protocol.md, "Refill")."""
    _authenticate()
    raw = request.get_data(cache=True)
    body = request.get_json(silent=True) if canonical.nesting_depth(raw) <= 5 else None
    offer = refill_service.parse_offer(body)
    with database().write() as session:
        answer = refill_service.offer(
            session, offer, node_id=g.node.node_id, hub=hub_identity(), clock=clock()
        )
        fresh = nodes.get_node(session, g.node.node_id)
        answer["head"] = {"seq": fresh.head_seq, "id": fresh.head_id}
    return jsonify(answer)


@bp.post("/push")
def push() -> Any:
    _authenticate()
    if request.mimetype != protocol.BATCH_CONTENT_TYPE:
        raise UnsupportedMediaType(f"send the batch as {protocol.BATCH_CONTENT_TYPE}")
    raws, sealed = protocol.decode_batch_sealed(request.get_data(cache=True))
    known = _int_arg("known", 0, 0, 2**53) or 0
    node_id = g.node.node_id
    db = database()
    with db.read() as session:
        ring = ingest.keyring(session, node_id)
    records, stopped = ingest.verify_batch(raws, node_id=node_id, ring=ring)
    if stopped is not None:
        with db.write() as session:
            nodes.refused_record(session, node_id, stopped.code, stopped.en, clock()())
    with db.write() as session:
        recovery.guard(session)
        if sealed:  # a box only a destroyed key opened: refused, the node seals it again
            encryption_keys.refuse_retired(session, sealed, statement=_encryption_statement())
        if sealed:  # the personal data beside the records: checked, kept encrypted
            disclosures.store_sealed(
                session, node_id, records, sealed, hub=hub_identity(), now=clock()()
            )
        out = ingest.accept_batch(
            session,
            node_id,
            records,
            hub=hub_identity(),
            clock=clock(),
            stopped_by=stopped,
            dead_letters_per_hour=int(current_app.config.get("DEAD_LETTERS_PER_NODE_HOUR", 100)),
        )
        if sealed:  # look-ups by the applicant's name go through a keyed hash
            disclosures.index_names(
                session, {r.dossier for r in records if r.dossier}, hub=hub_identity()
            )
        body = {
            "receipt": protocol.b64(out.receipt),
            "head": {"seq": out.head_seq, "id": out.head_id},
            "stored": out.stored,
            "duplicates": out.duplicates,
            "dead": out.dead,
            "checkpoint": _checkpoint_json(out.checkpoint),
            "proof": _proof(session, out, known),
            "error": {**out.error.as_dict(), "code": out.error.code} if out.error else None,
        }
        status_code = 200 if out.error is None or out.stored or out.duplicates else out.error.status
    return jsonify(body), status_code


def _proof(session: Any, out: ingest.PushOutcome, known: int) -> dict[str, Any] | None:
    """Evidence that the records stored by this push are in the log the checkpoint signs:
    the log's frontier where they start (the node appends its own records to it and must
    reach the checkpoint's root), and consistency from the checkpoint the node knew."""
    cp = out.checkpoint
    if cp is None or not out.stored:
        return None
    # When the node's known checkpoint is exactly where this push's records start, the
    # frontier is itself the consistency proof (the node folds it to its old root), so none
    # is sent: the common case of one commune catching up on a quiet log.
    needs_consistency = 0 < known <= cp.size and known != out.first_leaf
    consistency = translog.consistency_proof(session, known, cp.size) if needs_consistency else []
    return {
        "first_leaf": out.first_leaf,
        "frontier": [h.hex() for h in out.frontier],
        "from_size": known if known <= cp.size else 0,
        "consistency": [h.hex() for h in consistency],
    }


@bp.get("/proof/inclusion")
def inclusion() -> Any:
    """RFC 9162 inclusion proof of one of the node's own records in a checkpointed tree."""
    _authenticate()
    seq = _int_arg("seq", None, 1, 2**53)
    size = _int_arg("size", None, 1, 2**53)
    if seq is None or size is None:
        raise BadRequest("give seq and size")
    from sqlalchemy import select

    from central_hub.models import Checkpoint, LogRecord

    with database().read() as session:
        row = session.scalars(
            select(LogRecord).where(LogRecord.node_id == g.node.node_id, LogRecord.seq == seq)
        ).first()
        cp = session.get(Checkpoint, size)
        if row is None or cp is None or row.leaf >= size:
            raise BadRequest("no such record in a checkpoint of that size")
        proof = translog.inclusion_proof(session, row.leaf, size)
        return jsonify(
            {
                "leaf": row.leaf,
                "size": size,
                "hashes": [h.hex() for h in proof],
                "checkpoint": _checkpoint_json(cp),
            }
        )


@bp.get("/proof/consistency")
def consistency() -> Any:
    """RFC 9162 consistency proof between two checkpoint sizes."""
    _authenticate()
    old = _int_arg("old", None, 1, 2**53)
    new = _int_arg("new", None, 1, 2**53)
    if old is None or new is None or old > new:
        raise BadRequest("give old <= new")
    from central_hub.models import Checkpoint

    with database().read() as session:
        cp = session.get(Checkpoint, new)
        if cp is None:
            raise BadRequest("no checkpoint of that size")
        proof = translog.consistency_proof(session, old, new)
        return jsonify(
            {
                "old": old,
                "new": new,
                "hashes": [h.hex() for h in proof],
                "checkpoint": _checkpoint_json(cp),
            }
        )


@bp.get("/records")
def own_records() -> Any:
    """The node's own records the hub stored, seq ``first``..``last`` (at most 500): the copy
    a node's repair puts back in place of a record damaged on its disk."""
    _authenticate()
    first = _int_arg("first", 1, 1, 2**53) or 1
    last = _int_arg("last", first, first, 2**53) or first
    from sqlalchemy import select

    from central_hub.models import LogRecord

    with database().read() as session:
        raws = session.scalars(
            select(LogRecord.raw)
            .where(
                LogRecord.node_id == g.node.node_id,
                LogRecord.seq >= first,
                LogRecord.seq <= min(last, first + RECORDS_MAX - 1),
            )
            .order_by(LogRecord.seq)
        ).all()
    return Response(protocol.encode_batch(list(raws)), mimetype=protocol.BATCH_CONTENT_TYPE)


RECORDS_MAX = 500


@bp.get("/pull")
def pull() -> Any:
    _authenticate()
    after = _int_arg("after", 0, 0, 2**53) or 0
    max_bytes = _int_arg("max_bytes", PULL_MAX_BYTES, 1024, 4 * 1024 * 1024) or PULL_MAX_BYTES
    with database().read() as session:
        items = feed.pull(session, g.node.node_id, after=after, max_bytes=max_bytes)
        raws = [raw for _, raw in items]
        sealed = _sealed_to(session, raws)  # the free text of the hub's dossier records
    body = protocol.encode_batch(raws, sealed=sealed)
    resp = Response(body, mimetype=protocol.BATCH_CONTENT_TYPE)
    resp.headers["X-Feed-Ids"] = ",".join(str(i) for i, _ in items)
    resp.headers["X-Feed-Next"] = str(items[-1][0] if items else after)
    return resp


@bp.get("/history")
def history() -> Any:
    """The requesting node's own stored records after seq ``after``, as a batch
    (docs/sync-protocol.md, "A node behind its own chain")."""
    _authenticate()
    after = _int_arg("after", 0, 0, 2**53) or 0
    max_bytes = _int_arg("max_bytes", PULL_MAX_BYTES, 1024, 4 * 1024 * 1024) or PULL_MAX_BYTES
    with database().write() as session:
        node = nodes.get_node(session, g.node.node_id)
        raws, head = history_service.records(
            session, node.node_id, after=after, max_bytes=max_bytes
        )
        history_service.note_taken_back(session, node, after=after, key_id=g.key, clock=clock())
        sealed = _sealed_to(session, raws)  # the node's personal data back
    resp = Response(
        protocol.encode_batch(raws, sealed=sealed), mimetype=protocol.BATCH_CONTENT_TYPE
    )
    resp.headers["X-History-Head"] = str(head)
    return resp
