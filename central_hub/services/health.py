"""What the hub's pages show: every node's sync health (with its sort keys), dossiers across
communes, the hub officer's queue, a dossier's signed history, alerts, enrolment codes, the
last publications and the checkpoints. Read-only queries, plus the two small writes the
administrator's pages need: releasing a quarantine and acknowledging an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from central_hub.models import (
    Alert,
    Checkpoint,
    Cosignature,
    EnrolCode,
    Equivocation,
    HubDossier,
    LogRecord,
    Node,
    NodeKey,
)
from central_hub.services.identity import Clock
from common import record
from common.calendar import CalendarOverrides, WorkingCalendar, to_vn
from common.calendar_data import SAMPLE_OVERRIDES
from common.catalogue import Catalogue, load_sample_catalogue
from common.errors import CalendarError, DossierError, ErrorList, NotFound
from common.lifecycle import OPEN, Status
from common.validators import fold_diacritics

QUARANTINED = "quarantined"
SILENT_AFTER = timedelta(hours=24)  # no contact for this long: the node is "silent"
BACKLOG_AFTER = timedelta(hours=1)  # unsent records older than this: the node is "behind"
HEALTH_LEVELS = ("quarantined", "silent", "backlog", "ok")  # worst first
RUNNING = (int(Status.ACCEPTED), int(Status.PROCESSING))  # the legal clock runs
OPEN_CODES = tuple(sorted(int(s) for s in OPEN))
PAGE_SIZE = 100


# ------------------------------------------------------------------------- node health


@dataclass(frozen=True)
class NodeHealth:
    node: Node
    health: str  # one of HEALTH_LEVELS
    since_contact: timedelta | None  # None: the node has never called the hub
    oldest_age: timedelta | None  # age of its oldest unsent record (node clock), if any


def _seconds(value: timedelta | None, missing: float) -> float:
    return missing if value is None else value.total_seconds()


def _worst(h: NodeHealth) -> tuple[Any, ...]:
    """Quarantined first, then longest since contact (never first), then most waiting."""
    n = h.node
    return (
        n.state != QUARANTINED,
        -_seconds(h.since_contact, float("inf")),
        -n.reported_waiting,
        n.node_id,
    )


def _earliest_first(value: datetime | None) -> tuple[bool, float]:
    """Never first, then the longest ago."""
    return value is not None, value.timestamp() if value else 0.0


def _latest_first(value: datetime | None) -> tuple[bool, float]:
    return value is None, -(value.timestamp() if value else 0.0)


# Each key sorts the worst (or, for names, the first) node first; ties fall back to _worst.
SORT_KEYS: dict[str, Callable[[NodeHealth], Any]] = {
    "worst": lambda h: (),
    "commune": lambda h: fold_diacritics(h.node.commune_name).lower(),
    "agency": lambda h: h.node.agency_code,
    "state": lambda h: h.node.state != QUARANTINED,
    "contact": lambda h: -_seconds(h.since_contact, float("inf")),
    "push": lambda h: _earliest_first(h.node.last_push),
    "records": lambda h: h.node.head_seq,
    "waiting": lambda h: -h.node.reported_waiting,
    "oldest": lambda h: -_seconds(h.oldest_age, -1.0),
    "dead": lambda h: -h.node.dead_count,
    "error": lambda h: _latest_first(h.node.last_error_at),
}


def health_of(node: Node, now: datetime) -> NodeHealth:
    since = now - node.last_contact if node.last_contact else None
    oldest = (
        max(now - node.reported_oldest, timedelta(0))
        if node.reported_oldest and node.reported_waiting
        else None
    )
    if node.state == QUARANTINED:
        level = "quarantined"
    elif since is None or since > SILENT_AFTER:
        level = "silent"
    elif oldest is not None and oldest > BACKLOG_AFTER:
        level = "backlog"
    else:
        level = "ok"
    return NodeHealth(node, level, since, oldest)


def node_health(
    session: Session, *, now: datetime, sort: str = "worst", reverse: bool = False
) -> list[NodeHealth]:
    """Every node with its health, sorted by ``sort`` (a key of SORT_KEYS), worst first."""
    key = SORT_KEYS.get(sort, SORT_KEYS["worst"])
    rows = [health_of(n, now) for n in session.scalars(select(Node))]
    return sorted(rows, key=lambda h: (key(h), _worst(h)), reverse=reverse)


def health_counts(rows: list[NodeHealth]) -> dict[str, int]:
    counts = dict.fromkeys(HEALTH_LEVELS, 0)
    for h in rows:
        counts[h.health] += 1
    return counts


@dataclass(frozen=True)
class NodeDetail:
    health: NodeHealth
    keys: list[NodeKey]
    recent: list[LogRecord]
    dead: list[LogRecord]
    equivocations: list[Equivocation]
    alerts: list[Alert]


def node_detail(session: Session, node_id: str, *, now: datetime, limit: int = 50) -> NodeDetail:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound(f"no node {node_id}", vi=f"Không có nút {node_id}")
    by_node = LogRecord.node_id == node_id
    return NodeDetail(
        health=health_of(node, now),
        keys=list(
            session.scalars(
                select(NodeKey).where(NodeKey.node_id == node_id).order_by(NodeKey.first_seq)
            )
        ),
        recent=list(
            session.scalars(
                select(LogRecord).where(by_node).order_by(LogRecord.seq.desc()).limit(limit)
            )
        ),
        dead=list(
            session.scalars(
                select(LogRecord)
                .where(by_node, LogRecord.dead)
                .order_by(LogRecord.seq.desc())
                .limit(limit)
            )
        ),
        equivocations=list(
            session.scalars(
                select(Equivocation)
                .where(Equivocation.node_id == node_id)
                .order_by(Equivocation.id.desc())
            )
        ),
        alerts=list(
            session.scalars(
                select(Alert).where(Alert.node_id == node_id).order_by(Alert.id.desc()).limit(limit)
            )
        ),
    )


class NotQuarantined(DossierError):
    code = "not_quarantined"
    status = 409
    vi = "Nút này không bị cách ly."
    en = "This node is not quarantined."


def release_quarantine(session: Session, node_id: str, *, actor: str, clock: Clock) -> Node:
    """Let a quarantined node push again; the evidence stays, an alert says who released it."""
    node = session.scalars(select(Node).where(Node.node_id == node_id).with_for_update()).first()
    if node is None:
        raise NotFound(f"no node {node_id}", vi=f"Không có nút {node_id}")
    if node.state != QUARANTINED:
        raise NotQuarantined()
    node.state = "active"
    session.add(
        Alert(
            kind="quarantine_released",
            node_id=node_id,
            message=f"Quarantine released by {actor}",
            created_at=clock(),
        )
    )
    return node


# ------------------------------------------------------------------------------ alerts


def alerts(session: Session, *, include_acknowledged: bool, limit: int = 200) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.acknowledged, Alert.id.desc()).limit(limit)
    if not include_acknowledged:
        stmt = stmt.where(Alert.acknowledged.is_(False))
    return list(session.scalars(stmt))


def open_alert_count(session: Session) -> int:
    stmt = select(func.count()).select_from(Alert).where(Alert.acknowledged.is_(False))
    return session.scalar(stmt) or 0


def acknowledge_alert(session: Session, alert_id: int) -> Alert:
    row = session.get(Alert, alert_id)
    if row is None:
        raise NotFound(f"no alert {alert_id}", vi=f"Không có cảnh báo {alert_id}")
    row.acknowledged = True
    return row


# ---------------------------------------------------------------------------- dossiers


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Open, clock running, past the appointment."""
    return and_(
        HubDossier.status.in_(RUNNING), HubDossier.due_at.is_not(None), HubDossier.due_at < now
    )


@dataclass(frozen=True)
class DossierFilter:
    node_id: str | None = None
    status: int | None = None
    forwarded: bool | None = None
    overdue: bool = False


def dossiers(
    session: Session, f: DossierFilter, *, now: datetime, page: int = 1
) -> tuple[list[HubDossier], int]:
    """One page of dossiers matching ``f``: overdue open ones first, then open ones by due
    date, then the rest, most recently changed first; and the total matching."""
    conds: list[ColumnElement[bool]] = []
    if f.node_id:
        conds.append(HubDossier.node_id == f.node_id)
    if f.status is not None:
        conds.append(HubDossier.status == f.status)
    if f.forwarded is not None:
        conds.append(HubDossier.forwarded.is_(f.forwarded))
    if f.overdue:
        conds.append(overdue_clause(now))
    total = session.scalar(select(func.count()).select_from(HubDossier).where(*conds)) or 0
    is_open = HubDossier.status.in_(OPEN_CODES)
    open_due = case((is_open, HubDossier.due_at))
    stmt = (
        select(HubDossier)
        .where(*conds)
        .order_by(
            case((overdue_clause(now), 0), (is_open, 1), else_=2),
            open_due.is_(None),
            open_due,
            HubDossier.updated_at.desc(),
            HubDossier.code,
        )
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return list(session.scalars(stmt)), total


def queue(session: Session, *, now: datetime, limit: int = 500) -> list[HubDossier]:
    """Forwarded dossiers still open: overdue first, then by due date (none last)."""
    stmt = (
        select(HubDossier)
        .where(HubDossier.forwarded.is_(True), HubDossier.status.in_(OPEN_CODES))
        .order_by(
            case((overdue_clause(now), 0), else_=1),
            HubDossier.due_at.is_(None),
            HubDossier.due_at,
            HubDossier.code,
        )
        .limit(limit)
    )
    return list(session.scalars(stmt))


def deadline_state(row: HubDossier, now: datetime, calendar: WorkingCalendar) -> str:
    """``overdue``, ``due_soon`` (due by the end of the next working day), ``paused``
    (supplement or payment awaited), or ``""``."""
    if row.status in (Status.SUPPLEMENT, Status.PAYMENT):
        return "paused"
    if row.status not in RUNNING or row.due_at is None:
        return ""
    if row.due_at < now:
        return "overdue"
    try:
        soon = calendar.next_working_day(to_vn(now).date())
    except CalendarError:
        return ""
    return "due_soon" if to_vn(row.due_at).date() <= soon else ""


def node_names(session: Session) -> dict[str, Node]:
    return {n.node_id: n for n in session.scalars(select(Node).order_by(Node.commune_name))}


@dataclass(frozen=True)
class HistoryEntry:
    row: LogRecord
    rec: record.Record


def dossier_history(session: Session, code: str) -> tuple[HubDossier, list[HistoryEntry]]:
    """The dossier's projection and every stored record for it, node's and hub's, in log
    order (dead letters included: they are part of the chain)."""
    row = session.get(HubDossier, code)
    if row is None:
        raise NotFound(f"no dossier {code} at the hub", vi=f"Cấp trên không có hồ sơ {code}")
    rows = list(
        session.scalars(
            select(LogRecord).where(LogRecord.dossier_code == code).order_by(LogRecord.leaf)
        )
    )
    return row, [HistoryEntry(r, record.parse(r.raw)) for r in rows]


def dossier_raws(session: Session, code: str) -> list[bytes]:
    stmt = select(LogRecord.raw).where(LogRecord.dossier_code == code).order_by(LogRecord.leaf)
    raws = list(session.scalars(stmt))
    if not raws:
        raise NotFound(f"no records for dossier {code}", vi=f"Không có bản ghi cho hồ sơ {code}")
    return raws


# ---------------------------------------------------------------- enrolment, publication


def enrol_codes(session: Session, limit: int = 200) -> list[EnrolCode]:
    stmt = select(EnrolCode).order_by(EnrolCode.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def last_published(session: Session, hub_id: str, type: str) -> HistoryEntry | None:
    row = session.scalars(
        select(LogRecord)
        .where(LogRecord.node_id == hub_id, LogRecord.type == type)
        .order_by(LogRecord.seq.desc())
        .limit(1)
    ).first()
    return HistoryEntry(row, record.parse(row.raw)) if row else None


_CALENDARS: dict[str, WorkingCalendar] = {}


def current_overrides(session: Session, hub_id: str) -> CalendarOverrides:
    last = last_published(session, hub_id, "calendar.published")
    return CalendarOverrides.from_dict(last.rec.data) if last else SAMPLE_OVERRIDES


def current_calendar(session: Session, hub_id: str) -> WorkingCalendar:
    """The working calendar under the last published overrides (the sample before any)."""
    last = last_published(session, hub_id, "calendar.published")
    key = last.rec.id if last else "sample"
    cal = _CALENDARS.get(key)
    if cal is None:
        overrides = CalendarOverrides.from_dict(last.rec.data) if last else SAMPLE_OVERRIDES
        cal = _CALENDARS[key] = WorkingCalendar(overrides)
    return cal


def current_catalogue(session: Session, hub_id: str) -> Catalogue:
    last = last_published(session, hub_id, "catalogue.published")
    return Catalogue.from_dict(last.rec.data) if last else load_sample_catalogue()


def check_new_catalogue(session: Session, hub_id: str, catalogue: Catalogue) -> None:
    """A publication must carry a higher version than the one nodes already hold."""
    last = last_published(session, hub_id, "catalogue.published")
    current = int(last.rec.data.get("version", 0)) if last else 0
    if catalogue.version <= current:
        errors = ErrorList()
        errors.add(
            "version",
            "not_newer",
            f"Phiên bản phải lớn hơn phiên bản đã ban hành ({current}).",
            f"The version must be higher than the one already published ({current}).",
        )
        errors.raise_if_any()


# ------------------------------------------------------------------------- checkpoints


def checkpoints(session: Session, limit: int = 50) -> list[tuple[Checkpoint, int]]:
    """Recent checkpoints, newest first, each with how many nodes cosigned it."""
    cosigned = (
        select(Cosignature.size, func.count().label("n")).group_by(Cosignature.size).subquery()
    )
    stmt = (
        select(Checkpoint, func.coalesce(cosigned.c.n, 0))
        .outerjoin(cosigned, cosigned.c.size == Checkpoint.size)
        .order_by(Checkpoint.size.desc())
        .limit(limit)
    )
    return [(cp, int(n)) for cp, n in session.execute(stmt)]


# ---------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Dashboard:
    health: dict[str, int]
    nodes: int
    nodes_with_dead: int
    open_alerts: int
    queue: int
    overdue_forwarded: int


def dashboard(session: Session, *, now: datetime) -> Dashboard:
    rows = [health_of(n, now) for n in session.scalars(select(Node))]
    forwarded_open = and_(HubDossier.forwarded.is_(True), HubDossier.status.in_(OPEN_CODES))
    count = select(func.count()).select_from(HubDossier)
    return Dashboard(
        health=health_counts(rows),
        nodes=len(rows),
        nodes_with_dead=sum(1 for h in rows if h.node.dead_count),
        open_alerts=open_alert_count(session),
        queue=session.scalar(count.where(forwarded_open)) or 0,
        overdue_forwarded=session.scalar(
            count.where(HubDossier.forwarded.is_(True), overdue_clause(now))
        )
        or 0,
    )
