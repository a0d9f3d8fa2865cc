"""The node's tables. The event log is the truth; ``Dossier`` is a projection of it that is
written in the same transaction as each event, and can be rebuilt from the log at any time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common_io import throttle, web_sessions
from commune_node.base import Base


class Setting(Base):
    """Identity and configuration of this node (node id, commune, agency code, hub …)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Officer(Base):
    __tablename__ = "officer"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[str] = mapped_column(String(100))  # comma-separated common.lifecycle.Role
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="officer")

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)
    officer: Mapped[Officer] = relationship(back_populates="tokens")


class Procedure(Base):
    """One entry of the published procedure catalogue (common.catalogue.Procedure as a row)."""

    __tablename__ = "procedure"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    search_key: Mapped[str] = mapped_column(String(600))  # folded, without diacritics
    level: Mapped[str] = mapped_column(String(20))
    limit_days: Mapped[int]  # 0 as well for a procedure limited in working hours
    limit_hours: Mapped[int | None]  # working hours; NULL for a limit in working days
    fee: Mapped[int]
    definition: Mapped[dict[str, Any]]  # the full catalogue entry, as published


class Event(Base):
    """This node's own signed, chained log: one row per record, the exact bytes kept."""

    __tablename__ = "event"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]  # the record's own (node) time
    record: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (Index("ix_event_type_at", "type", "at"),)


class Dossier(Base):
    """Current state of a dossier, folded from its events (common.lifecycle.apply)."""

    __tablename__ = "dossier"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedure.code"))
    channel: Mapped[int]
    status: Mapped[int]
    forwarded: Mapped[bool] = mapped_column(default=False)
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_search: Mapped[str] = mapped_column(String(100), index=True)
    id_number: Mapped[str] = mapped_column(String(12), default="")
    phone: Mapped[str] = mapped_column(String(15), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    open_due_at: Mapped[datetime | None]  # due_at while the dossier is open, else NULL
    ended_at: Mapped[datetime | None]
    last_seq: Mapped[int]
    state: Mapped[dict[str, Any]]  # the whole DossierState, for the rules
    # When the personal columns above were erased (retention ended, or a lawful request):
    # services/privacy.py. The name column then holds "Dữ liệu cá nhân đã xoá ngày …".
    personal_erased_at: Mapped[datetime | None]

    # Each list the desk shows reads its first page straight off one of these. The folded
    # names are also in the FTS5 table ``dossier_search`` (trigram), kept by triggers
    # (migration 0003): see services/dossiers.py for the search.
    __table_args__ = (
        Index("ix_dossier_created_code", "created_at", "code"),  # the list, newest first
        Index("ix_dossier_status_created", "status", "created_at", "code"),
        Index("ix_dossier_procedure_created", "procedure_code", "created_at", "code"),
        Index("ix_dossier_open_due_at", "open_due_at", "code"),
        Index("ix_dossier_id_number", "id_number"),  # the search box: an ID card in hand
        Index("ix_dossier_phone", "phone"),
    )


class IntakeKey(Base):
    """The key of an intake request that was taken in (its SHA-256), so that the same request
    sent again gives the same dossier (services/idempotency.py)."""

    __tablename__ = "intake_key"
    key_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    dossier_code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class DayCounter(Base):
    """Last dossier number issued per agency and receipt day: codes are gap-free per day."""

    __tablename__ = "day_counter"
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)  # yymmdd
    last: Mapped[int]
    __table_args__ = (UniqueConstraint("agency_code", "day"),)


class FormNumber(Base):
    """A printed form's yearly register number (form 02: "Số: 3/HDHS"), given to the record
    the form prints in the same transaction that appends it: gap-free per form and year."""

    __tablename__ = "form_number"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(2))
    year: Mapped[int]
    number: Mapped[int]
    __table_args__ = (UniqueConstraint("kind", "year", "number"),)


class PersonalDisclosure(Base):
    """A personal value a record commits to (``data.pd``), with its salt: kept apart from the
    signed log so that erasing it (``services/personal_data.erase_disclosures``) leaves
    every record, chain and proof intact (docs/records.md, "Personal data")."""

    __tablename__ = "disclosure"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(64), primary_key=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON)


class Receipt(Base):
    """A hub-signed receipt: the hub stored this node's chain up to ``seq`` (kept forever)."""

    __tablename__ = "receipt"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True)
    record_id: Mapped[str | None] = mapped_column(String(64))
    checkpoint_size: Mapped[int | None]
    hub_time: Mapped[str] = mapped_column(String(40))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]
    # The proof that records first_seq..seq are the log's leaves first_leaf.. in the signed
    # checkpoint: kept so they can be given back, in place, to a hub restored from a backup.
    first_seq: Mapped[int | None]
    first_leaf: Mapped[int | None] = mapped_column(BigInteger)
    frontier: Mapped[str | None] = mapped_column(Text)  # JSON list of hex hashes
    checkpoint: Mapped[bytes | None] = mapped_column(LargeBinary)


class SupersededEvent(Base):
    """A record this node signed after being put back from an older copy, at a seq the hub
    already held under another record of this node's: kept as it was; its content is signed
    again after the hub's head (``resigned_seq``), under ``new_code`` if its dossier code had
    been given out by the lost copy (services/reconcile.py)."""

    __tablename__ = "superseded_event"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int]
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    record: Mapped[bytes] = mapped_column(LargeBinary)
    superseded_at: Mapped[datetime]
    resigned_seq: Mapped[int | None]
    new_code: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))


class DeadLetter(Base):
    """One of this node's records that the hub stored but refused to apply, and why."""

    __tablename__ = "dead_letter"
    seq: Mapped[int] = mapped_column(ForeignKey("event.seq"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(1000))
    message_vi: Mapped[str] = mapped_column(String(1000))
    reported_at: Mapped[datetime]


class DamagedRecord(Base):
    """One of this node's own records found damaged on disk (its bytes no longer verify),
    the damaged bytes kept as found, and how it ended: ``restored`` (the hub's copy, checked
    against this node's key and chain, put back) or ``lost`` (the hub never had it: a signed
    ``chain.break`` record took its place, docs/records.md)."""

    __tablename__ = "damaged_record"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    record_id: Mapped[str | None] = mapped_column(String(64))  # as the event row named it
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    problem: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))  # restored | lost
    found_at: Mapped[datetime]


class Inbound(Base):
    """A hub record pulled from the feed, verified, with the outcome of applying it."""

    __tablename__ = "inbound"
    feed_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hub_seq: Mapped[int]
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]
    problem: Mapped[str | None] = mapped_column(String(1000))


class Alarm(Base):
    """Something the node's officers must see: failed proofs, hub rollback, revoked key."""

    __tablename__ = "alarm"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(1000))
    message_vi: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    acknowledged: Mapped[bool] = mapped_column(default=False)


class ProcessingEntry(Base):
    """The processing log: who viewed, printed, exported, disclosed or erased a dossier's
    personal data, when, and why (services/privacy.py). Kept apart from the signed log; it
    names the officer and the dossier, never the citizen."""

    __tablename__ = "processing_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    officer: Mapped[str] = mapped_column(String(64))
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # services/privacy.ACTIONS
    purpose: Mapped[str] = mapped_column(String(300))
    __table_args__ = (
        Index("ix_processing_log_at", "at", "id"),
        Index("ix_processing_log_dossier", "dossier_code", "at"),
        Index("ix_processing_log_officer", "officer", "at"),
    )


class ErasureRun(Base):
    """One run of the erasure of personal data (the retention job, or one dossier on a lawful
    request), with its report: how many dossiers, notifications, and how long it took."""

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


from commune_node import notify_models as _notify_models  # noqa: E402, F401  (outbox table)
