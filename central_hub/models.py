"""The hub's tables.

``LogRecord`` holds every record the hub has stored — the nodes' and its own — with the exact
bytes, in log order (``leaf``: its leaf index in the transparency log). A record that is
authentic and continues its chain is always stored, even when its content is refused: it is
then marked ``dead`` with the reason, and not applied to the dossier projection. That keeps
every chain whole for auditors while a bad record never blocks the records behind it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from central_hub.base import Base
from common_io import throttle, web_sessions


class HubSetting(Base):
    __tablename__ = "hub_setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class HubUser(Base):
    __tablename__ = "hub_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[str] = mapped_column(String(100))  # administrator, hub_officer, auditor
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class Node(Base):
    """An enrolled commune node and what the hub knows of its health."""

    __tablename__ = "node"
    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    commune_name: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="active")  # active|quarantined
    enrolled_at: Mapped[datetime]
    head_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    head_id: Mapped[str | None] = mapped_column(String(64))
    last_contact: Mapped[datetime | None]
    last_push: Mapped[datetime | None]
    reported_waiting: Mapped[int] = mapped_column(default=0)
    reported_oldest: Mapped[datetime | None]  # node time of its oldest unsent event
    reported_clock: Mapped[datetime | None]  # node clock at last contact
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None]
    dead_count: Mapped[int] = mapped_column(default=0)
    # dead letters stored in the current hour (DEAD_LETTERS_PER_NODE_HOUR)
    dead_window_start: Mapped[datetime | None]
    dead_window_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # the hub encryption key the node said it seals personal data to, and when it said so
    sealing_kid: Mapped[str | None] = mapped_column(String(32))
    sealing_seen_at: Mapped[datetime | None]


class NodeKey(Base):
    """A node's signing keys over time. A revoked key is valid up to ``last_valid_seq``."""

    __tablename__ = "node_key"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("node.node_id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # hex of the raw 32 bytes
    first_seq: Mapped[int] = mapped_column(BigInteger, default=1)
    last_valid_seq: Mapped[int | None] = mapped_column(BigInteger)  # set when revoked
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(300), default="")
    replaced_by: Mapped[str | None] = mapped_column(String(32))  # a new laptop's key


class EnrolCode(Base):
    """A one-time, expiring enrolment code (only its hash is kept)."""

    __tablename__ = "enrol_code"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    commune_name: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    node_id: Mapped[str | None] = mapped_column(String(32))
    replaces: Mapped[str | None] = mapped_column(String(32))  # the node a new laptop continues


class LogRecord(Base):
    """Every stored record, in transparency-log order."""

    __tablename__ = "log_record"
    leaf: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    node_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime]
    dead: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (UniqueConstraint("node_id", "seq", name="uq_log_record_node_seq"),)


class MerkleNode(Base):
    """Perfect-subtree hashes of the log (common.merkle): one lookup each."""

    __tablename__ = "merkle_node"
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(Base):
    """A signed statement of the log's size and root at one moment."""

    __tablename__ = "checkpoint"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    signed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Cosignature(Base):
    """A node's signature over a checkpoint it verified (nodes act as witnesses)."""

    __tablename__ = "cosignature"
    size: Mapped[int] = mapped_column(ForeignKey("checkpoint.size"), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("node.node_id"), primary_key=True)
    signed: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


class CosignatureAside(Base):
    """A cosignature by a key the hub does not know yet (a node cosigns with its new key before
    the push that carries the rotation record): kept, and checked once the key is known."""

    __tablename__ = "cosignature_aside"
    node_id: Mapped[str] = mapped_column(ForeignKey("node.node_id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    signed: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


class Equivocation(Base):
    """Two validly signed records from one node at one sequence number: portable proof."""

    __tablename__ = "equivocation"
    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("node.node_id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    stored_raw: Mapped[bytes] = mapped_column(LargeBinary)
    other_raw: Mapped[bytes] = mapped_column(LargeBinary)
    detected_at: Mapped[datetime]


class Nonce(Base):
    """Request nonces seen within the timestamp window (replay protection)."""

    __tablename__ = "request_nonce"
    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class FeedItem(Base):
    """A hub record addressed to one node (or to every node, ``audience='*'``)."""

    __tablename__ = "feed_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    leaf: Mapped[int] = mapped_column(ForeignKey("log_record.leaf"))
    audience: Mapped[str] = mapped_column(String(32))
    __table_args__ = (Index("ix_feed_audience_id", "audience", "id"),)


class HubDossier(Base):
    """The hub's projection of every dossier it has records for."""

    __tablename__ = "hub_dossier"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("node.node_id"), index=True)
    procedure_code: Mapped[str] = mapped_column(String(64))
    procedure_name: Mapped[str] = mapped_column(String(300), default="")
    applicant_name: Mapped[str] = mapped_column(String(100), default="")  # kept empty: see
    # ``disclosure``; look-ups by name go through ``applicant_key`` (HMAC, hub lookup key)
    applicant_key: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[int] = mapped_column(index=True)
    forwarded: Mapped[bool] = mapped_column(default=False, index=True)
    received_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    state: Mapped[dict[str, Any]]
    flag: Mapped[str | None] = mapped_column(String(300))  # e.g. another citizen's record
    # A keyed hash of the applicant's ID number (services/disclosures.id_digest): the citizen's
    # rights look-up finds their dossiers across communes without an ID number in clear.
    id_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    # When the applicant's personal data was erased here (retention, or a lawful request).
    personal_erased_at: Mapped[datetime | None]


class Alert(Base):
    """Something an administrator must see: equivocation, dead letters, revoked-key use."""

    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    node_id: Mapped[str | None] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    acknowledged: Mapped[bool] = mapped_column(default=False)
    # alerts of one kind about one node are one open row: how many, and the latest
    count: Mapped[int] = mapped_column(default=1, server_default="1")
    last_seen: Mapped[datetime | None]


class RefillRecord(Base):
    """A record a node sent back after a hub restore, waiting for its turn in the rebuilt log
    (services/refill.py). ``leaf`` is set when a receipt's proof pins the record to its
    leaf; records without one (the hub's own, or ones whose receipt was lost) are placed by
    the roots the communes witnessed."""

    __tablename__ = "refill_record"
    writer: Mapped[str] = mapped_column(String(32), primary_key=True)  # node id or hub id
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    offered_by: Mapped[str] = mapped_column(String(32))
    offered_at: Mapped[datetime]


class RefillRoot(Base):
    """A root of the lost log at one size, proven by a hub signature a node kept: what the
    rebuilt log must reach at that size."""

    __tablename__ = "refill_root"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))


class LogBreak(Base):
    """A declared break in the log: the administrator closed a log recovery before the log
    reached every checkpoint the communes verified. ``signed`` is the hub's statement
    (``common.protocol.log_break_body``); ``kept_checkpoint`` the signed checkpoint the log
    goes on from (services/logbreak.py)."""

    __tablename__ = "log_break"
    id: Mapped[int] = mapped_column(primary_key=True)
    kept_size: Mapped[int] = mapped_column(BigInteger)
    given_up_size: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    signed: Mapped[bytes] = mapped_column(LargeBinary)
    kept_checkpoint: Mapped[bytes] = mapped_column(LargeBinary)


class ProcessingEntry(Base):
    """The processing log: who viewed, printed, exported, disclosed or erased a dossier's
    personal data at the hub, when, and why (services/privacy.py); apart from the log."""

    __tablename__ = "processing_log"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    at: Mapped[datetime]
    officer: Mapped[str] = mapped_column(String(64))
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(300))
    __table_args__ = (
        Index("ix_processing_log_at", "at", "id"),
        Index("ix_processing_log_dossier", "dossier_code", "at"),
        Index("ix_processing_log_officer", "officer", "at"),
    )


class ErasureRun(Base):
    """One run of the erasure of personal data at the hub, with its report."""

    __tablename__ = "erasure_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # retention | request
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    officer: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500), default="")
    dossiers: Mapped[int] = mapped_column(default=0)
    notifications: Mapped[int] = mapped_column(default=0)
    milliseconds: Mapped[int] = mapped_column(default=0)


# Server-side page sessions and guess counters (common_io.web_sessions, common_io.throttle).
WEB_SESSION = web_sessions.define_table(Base.metadata)
LOGIN_ATTEMPT = throttle.define_table(Base.metadata)


class HubDisclosure(Base):
    """A personal value a record commits to, encrypted with the hub's data key
    (``common.personal.encrypt_at_rest``): the only place the hub keeps personal data of
    version 2 records, erasable per dossier (``services/disclosures.erase_disclosures``)."""

    __tablename__ = "disclosure"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(64), primary_key=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    box: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime]
    sealed_kid: Mapped[str | None] = mapped_column(String(32))  # the box it came in


class EncryptionKeyRecord(Base):
    """One of the hub's encryption keys (nodes seal personal data to it): when it was made,
    until when it was the current one, and when its private half was destroyed."""

    __tablename__ = "encryption_key"
    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    made_at: Mapped[datetime]
    current_until: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    retired_by: Mapped[str | None] = mapped_column(String(64))
    retire_reason: Mapped[str | None] = mapped_column(String(500))
    forced: Mapped[bool] = mapped_column(default=False, server_default=false())


class DisclosureExport(Base):
    """Who added a dossier's personal data to an audit bundle, when and why."""

    __tablename__ = "disclosure_export"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    values: Mapped[int]


from central_hub import notify_models as _notify_models  # noqa: E402, F401  (their tables)
from central_hub import portal_models as _portal_models  # noqa: E402, F401  (their tables)
