"""The dossier state machine: statuses, actions, who may act, and the state derived from events.

Statuses are the national public-service portal's ``TrangThaiHoSo`` codes 1–10. Each action
names the statuses it may start from (``NEW`` for an action that creates the dossier), the
status it leads to, the roles that may take it, and — for a dossier forwarded to the hub
(liên thông) — which side owns it. :func:`check` is the one place these rules live; the
node calls it before writing an event and the hub calls it while replaying one, so the two
cannot disagree. :func:`apply` folds one event into a :class:`DossierState`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from common.errors import RoleError, TransitionError


class Status(IntEnum):
    NEW = 0  # not a portal code: the dossier does not exist yet
    SUBMITTED = 1  # Mới đăng ký
    ACCEPTED = 2  # Được tiếp nhận
    REFUSED = 3  # Không được tiếp nhận
    PROCESSING = 4  # Đang xử lý
    SUPPLEMENT = 5  # Yêu cầu bổ sung giấy tờ
    PAYMENT = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    RESOLVED = 9  # Đã xử lý xong
    RETURNED = 10  # Đã trả kết quả


STATUS_NAMES: dict[Status, tuple[str, str]] = {
    Status.NEW: ("Chưa có", "Not yet created"),
    Status.SUBMITTED: ("Mới đăng ký", "Newly submitted"),
    Status.ACCEPTED: ("Được tiếp nhận", "Accepted"),
    Status.REFUSED: ("Không được tiếp nhận", "Refused"),
    Status.PROCESSING: ("Đang xử lý", "In processing"),
    Status.SUPPLEMENT: ("Yêu cầu bổ sung giấy tờ", "Supplement requested"),
    Status.PAYMENT: ("Yêu cầu thực hiện nghĩa vụ tài chính", "Payment requested"),
    Status.WITHDRAWN: ("Công dân yêu cầu rút hồ sơ", "Withdrawn by the citizen"),
    Status.STOPPED: ("Dừng xử lý", "Stopped"),
    Status.RESOLVED: ("Đã xử lý xong", "Processing complete"),
    Status.RETURNED: ("Đã trả kết quả", "Result returned"),
}

# The clock stops at the first of these (BRIEF §4: processing complete wins over returned).
TERMINAL = frozenset(
    {Status.REFUSED, Status.WITHDRAWN, Status.STOPPED, Status.RESOLVED, Status.RETURNED}
)
# Statuses in which the dossier is still open and can fall late.
OPEN = frozenset({Status.ACCEPTED, Status.PROCESSING, Status.SUPPLEMENT, Status.PAYMENT})


class Channel(IntEnum):
    IN_PERSON = 1  # trực tiếp
    ONLINE = 2  # trực tuyến
    POST = 3  # bưu chính công ích


class Role(StrEnum):
    RECEIVER = "receiver"  # cán bộ tiếp nhận
    LEADER = "leader"  # lãnh đạo ký duyệt
    ADMIN = "admin"  # quản trị nút
    HUB_OFFICER = "hub_officer"  # cán bộ xử lý liên thông ở cấp trên


class Side(StrEnum):
    COMMUNE = "commune"
    HUB = "hub"


_SIDE_VI = {Side.COMMUNE: "cấp xã", Side.HUB: "cấp trên"}


class Owner(StrEnum):
    COMMUNE = "commune"  # only the commune, forwarded or not
    PROCESSOR = "processor"  # the commune, or the hub once the dossier is forwarded


@dataclass(frozen=True)
class Action:
    name: str
    event_type: str
    sources: frozenset[Status]
    target: Status | None  # None: status unchanged; RESUME: back to the status before a pause
    roles: frozenset[Role]
    owner: Owner
    vi: str
    en: str


RESUME = Status.NEW  # marker target: return to ``resume_to`` (used by pauses)
_S = Status
_R = Role
_COMMUNE_DESK = frozenset({_R.RECEIVER})
_DECIDERS = frozenset({_R.LEADER, _R.HUB_OFFICER})
_PROCESSORS = frozenset({_R.RECEIVER, _R.LEADER, _R.HUB_OFFICER})


def _a(name: str, sources: set[Status], target: Status | None, roles: frozenset[Role],
       owner: Owner, vi: str, en: str) -> Action:  # fmt: skip
    return Action(name, f"dossier.{name}", frozenset(sources), target, roles, owner, vi, en)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _a(
            "registered",
            {_S.NEW},
            _S.SUBMITTED,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Đăng ký trực tuyến",
            "Register an online submission",
        ),
        _a(
            "received",
            {_S.NEW},
            _S.ACCEPTED,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Tiếp nhận hồ sơ",
            "Receive the dossier",
        ),
        _a(
            "accepted",
            {_S.SUBMITTED},
            _S.ACCEPTED,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Tiếp nhận hồ sơ trực tuyến",
            "Accept the online submission",
        ),
        _a(
            "refused",
            {_S.NEW, _S.SUBMITTED},  # at the desk; once accepted, the way out is "stopped" (8)
            _S.REFUSED,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Từ chối tiếp nhận",
            "Refuse the dossier",
        ),
        _a(
            "supplement_requested",
            {_S.NEW, _S.SUBMITTED, _S.ACCEPTED, _S.PROCESSING},
            _S.SUPPLEMENT,
            _PROCESSORS,
            Owner.PROCESSOR,
            "Yêu cầu bổ sung hồ sơ",
            "Request a supplement",
        ),
        _a(
            "supplement_received",
            {_S.SUPPLEMENT},
            RESUME,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Nhận hồ sơ bổ sung",
            "Record the supplement received",
        ),
        _a(
            "forwarded",
            {_S.ACCEPTED, _S.PROCESSING},
            None,  # the hub accepts it with "processing"
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Chuyển cấp trên (liên thông)",
            "Forward to the higher level",
        ),
        _a(
            "processing",
            {_S.ACCEPTED},
            _S.PROCESSING,
            _PROCESSORS,
            Owner.PROCESSOR,
            "Chuyển xử lý",
            "Start processing",
        ),
        _a(
            "payment_requested",
            {_S.ACCEPTED, _S.PROCESSING},
            _S.PAYMENT,
            _PROCESSORS,
            Owner.PROCESSOR,
            "Yêu cầu nộp phí, lệ phí",
            "Request payment",
        ),
        _a(
            "fee_paid",
            {_S.ACCEPTED, _S.PROCESSING, _S.SUPPLEMENT, _S.PAYMENT, _S.RESOLVED},
            None,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Ghi nhận đã nộp phí",
            "Record a fee paid",
        ),
        _a(
            "resolved",
            {_S.ACCEPTED, _S.PROCESSING},
            _S.RESOLVED,
            _DECIDERS,
            Owner.PROCESSOR,
            "Giải quyết xong",
            "Resolve",
        ),
        _a(
            "result_returned",
            {_S.RESOLVED},
            _S.RETURNED,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Trả kết quả",
            "Return the result",
        ),
        _a(
            "withdrawn",
            {_S.SUBMITTED, _S.ACCEPTED, _S.PROCESSING, _S.SUPPLEMENT, _S.PAYMENT},
            _S.WITHDRAWN,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Công dân rút hồ sơ",
            "Withdraw at the citizen's request",
        ),
        _a(
            "stopped",
            {_S.ACCEPTED, _S.PROCESSING, _S.SUPPLEMENT, _S.PAYMENT},
            _S.STOPPED,
            _DECIDERS,
            Owner.PROCESSOR,
            "Dừng xử lý",
            "Stop processing",
        ),
        _a(
            "apologised",
            {_S.ACCEPTED, _S.PROCESSING, _S.SUPPLEMENT, _S.PAYMENT},
            None,
            _DECIDERS,
            Owner.PROCESSOR,
            "Xin lỗi và hẹn lại",
            "Apologise and set a new date",
        ),
        _a(
            "rated",
            {_S.RETURNED},
            None,
            _COMMUNE_DESK,
            Owner.COMMUNE,
            "Ghi nhận đánh giá hài lòng",
            "Record the satisfaction rating",
        ),
    )
}
ACTION_BY_EVENT = {a.event_type: a for a in ACTIONS.values()}


@dataclass(frozen=True)
class DossierState:
    """Everything the rules need to know about a dossier, derived from its events."""

    code: str
    procedure: str
    level: str  # "commune" or the higher authority's level
    channel: Channel
    status: Status
    received_at: datetime | None = None  # when the clock started (None until accepted)
    due_at: datetime | None = None  # the current appointment (moves with pauses, apologies)
    forwarded: bool = False
    resume_to: Status | None = None  # where a pause (supplement, payment) returns to
    paused_since: datetime | None = None
    paused: tuple[tuple[datetime, datetime], ...] = ()
    supplements: int = 0  # supplement requests made while the clock ran
    apologies: int = 0
    fees_paid: int = 0
    rating: int | None = None
    ended_at: datetime | None = None  # the first terminal status
    holder: str | None = None  # the officer "Chuyển xử lý" handed it to (its recipient)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def clock_running(self) -> bool:
        return self.is_open and self.paused_since is None and self.received_at is not None


def allowed_actions(
    state: DossierState | None, *, side: Side, roles: frozenset[Role] | None = None
) -> list[Action]:
    """Actions that :func:`check` would allow now (the desk's buttons)."""
    out = []
    for action in ACTIONS.values():
        try:
            check(state, action.name, side=side, roles=roles)
        except TransitionError:
            continue
        out.append(action)
    return out


# Actions that end a dossier against the applicant's wish or undo the desk's work: shown
# last, in red, and asked to be confirmed.
DESTRUCTIVE = frozenset({"refused", "stopped", "withdrawn"})
# The step a dossier in each status most likely waits for.
_NEXT = {
    _S.NEW: "received",
    _S.SUBMITTED: "accepted",
    _S.ACCEPTED: "processing",
    _S.PROCESSING: "resolved",
    _S.SUPPLEMENT: "supplement_received",
    _S.PAYMENT: "fee_paid",
    _S.RESOLVED: "result_returned",
    _S.RETURNED: "rated",
}


def likely_first(state: DossierState | None, actions: list[Action]) -> list[Action]:
    """``actions`` in the order a desk shows them: the step the dossier most likely waits
    for first (forwarding, for an accepted dossier of a higher level), the destructive ones
    last, the rest as listed in :data:`ACTIONS`."""
    status = state.status if state else Status.NEW
    nxt = _NEXT.get(status)
    if status is Status.ACCEPTED and state is not None and state.level != "commune":
        nxt = "forwarded"
    order = list(ACTIONS)
    return sorted(
        actions,
        key=lambda a: (a.name != nxt, a.name in DESTRUCTIVE, order.index(a.name)),
    )


def check(
    state: DossierState | None,
    action_name: str,
    *,
    side: Side,
    roles: frozenset[Role] | None = None,
    now: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> Action:
    """Raise ``TransitionError`` (or ``RoleError``) unless the action may be taken now.

    ``roles`` None skips the role check (the hub replaying another side's event cannot know
    that side's officers); ``now`` None skips the time guards for the same reason.
    """
    action = ACTIONS.get(action_name)
    if action is None:
        raise TransitionError(f"unknown action {action_name!r}", action=action_name)
    status = state.status if state else Status.NEW
    if status not in action.sources:
        vi_status, en_status = STATUS_NAMES[status]
        raise TransitionError(
            f"cannot '{action.en}' when the dossier is '{en_status}' ({int(status)})",
            vi=f"Không thể «{action.vi}» khi hồ sơ đang ở trạng thái «{vi_status}» ({int(status)})",
            action=action.name,
            status=int(status),
        )
    forwarded = bool(state and state.forwarded)
    owner_side = Side.HUB if (forwarded and action.owner is Owner.PROCESSOR) else Side.COMMUNE
    if side is not owner_side:
        raise TransitionError(
            f"'{action.en}' belongs to the {owner_side.value} for this dossier",
            vi=f"Thao tác «{action.vi}» thuộc về {_SIDE_VI[owner_side]} đối với hồ sơ này",
            action=action.name,
        )
    if roles is not None and not (roles & action.roles):
        raise RoleError(
            f"'{action.en}' needs one of the roles: {', '.join(sorted(action.roles))}",
            vi=f"Thao tác «{action.vi}» cần vai trò: {', '.join(sorted(action.roles))}",
            action=action.name,
        )
    if action.name == "forwarded" and state is not None:
        if state.level == "commune":
            raise TransitionError(
                "this procedure is decided at the commune; it cannot be forwarded",
                vi="Thủ tục này do cấp xã giải quyết, không chuyển liên thông",
            )
        if state.forwarded:
            raise TransitionError(
                "the dossier has already been forwarded", vi="Hồ sơ đã được chuyển"
            )
    if (
        action.name in ("processing", "resolved")
        and state
        and state.level != "commune"
        and not forwarded
    ):
        raise TransitionError(
            "a higher-level dossier must be forwarded before it is processed",
            vi="Hồ sơ thuộc thẩm quyền cấp trên phải được chuyển liên thông trước khi xử lý",
        )
    if action.name == "apologised" and state is not None and now is not None:
        # After the due date an apology is still issued (the citizen needs the letter and a
        # new date) but its record must say it is late (common.calendar.apology_timing).
        if state.due_at is not None and now >= state.due_at and not (data or {}).get("late"):
            raise TransitionError(
                "an apology after the due date must be recorded as late",
                vi="Văn bản xin lỗi sau khi quá hạn phải được ghi nhận là xin lỗi muộn",
            )
        new_due = _parse_time((data or {}).get("new_due"))
        if new_due is not None and state.due_at is not None and new_due <= state.due_at:
            raise TransitionError(
                "the new appointment must be later than the current one",
                vi="Ngày hẹn mới phải sau ngày hẹn hiện tại",
            )
    if action.name == "rated" and state is not None and state.rating is not None:
        raise TransitionError("the dossier already has a rating", vi="Hồ sơ đã được đánh giá")
    return action


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def apply(
    state: DossierState | None,
    *,
    event_type: str,
    data: dict[str, Any],
    at: datetime,
    code: str,
    side: Side,
    roles: frozenset[Role] | None = None,
    now: datetime | None = None,
) -> DossierState:
    """Check the event against the rules and return the state after it.

    ``at`` is when the event happened (the record's time); payload fields used here:
    ``received``/``registered``/``refused``/``supplement_requested`` (when creating):
    ``procedure``, ``level``, ``channel``; ``received``/``accepted``/``supplement_received``
    (when the clock starts): ``due``; ``supplement_received``: ``due`` (the extended
    appointment); ``apologised``: ``new_due`` (and ``late`` when issued after the last day);
    ``fee_paid``: ``amount``; ``rated``: ``rating``;
    ``processing``: ``recipient`` (the officer it is handed to, if named).
    """
    action = ACTION_BY_EVENT.get(event_type)
    if action is None:
        raise TransitionError(f"unknown event type {event_type!r}")
    check(state, action.name, side=side, roles=roles, now=now, data=data)
    if state is None:
        state = DossierState(
            code=code,
            procedure=str(data.get("procedure", "")),
            level=str(data.get("level", "commune")),
            channel=Channel(int(data.get("channel", Channel.IN_PERSON))),
            status=Status.NEW,
        )
    before = state.status
    changes: dict[str, Any] = {}
    if action.target is RESUME:
        target = state.resume_to or Status.ACCEPTED
    elif action.target is None and action.name == "fee_paid" and before is Status.PAYMENT:
        target = state.resume_to or Status.PROCESSING
    else:
        target = action.target if action.target is not None else before
    changes["status"] = target

    due = _parse_time(data.get("due"))
    if target is Status.ACCEPTED and state.received_at is None:
        changes["received_at"] = at
    if due is not None:
        changes["due_at"] = due

    if target in (Status.SUPPLEMENT, Status.PAYMENT) and before not in (
        Status.SUPPLEMENT,
        Status.PAYMENT,
    ):
        changes["resume_to"] = Status.ACCEPTED if before in (Status.NEW,) else before
        if state.received_at is not None:
            changes["paused_since"] = at
            if target is Status.SUPPLEMENT:
                changes["supplements"] = state.supplements + 1
    if before in (Status.SUPPLEMENT, Status.PAYMENT) and target not in (
        Status.SUPPLEMENT,
        Status.PAYMENT,
    ):
        changes["resume_to"] = None
        if state.paused_since is not None:
            changes["paused"] = (*state.paused, (state.paused_since, at))
            changes["paused_since"] = None
    if action.name == "forwarded":
        changes["forwarded"] = True
    if action.name == "processing":
        changes["holder"] = str(data.get("recipient") or "") or None
    if action.name == "apologised":
        changes["apologies"] = state.apologies + 1
        new_due = _parse_time(data.get("new_due"))
        if new_due is not None:
            changes["due_at"] = new_due
    if action.name == "fee_paid":
        changes["fees_paid"] = state.fees_paid + int(data.get("amount", 0))
    if action.name == "rated":
        changes["rating"] = int(data["rating"])
    if target in TERMINAL and state.ended_at is None:
        changes["ended_at"] = at
        if state.paused_since is not None:
            changes["paused"] = (*state.paused, (state.paused_since, at))
            changes["paused_since"] = None
    return replace(state, **changes)


def state_to_dict(state: DossierState) -> dict[str, Any]:
    """JSON form of a state (for the projection tables); inverse of :func:`state_from_dict`."""

    def t(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "code": state.code,
        "procedure": state.procedure,
        "level": state.level,
        "channel": int(state.channel),
        "status": int(state.status),
        "received_at": t(state.received_at),
        "due_at": t(state.due_at),
        "forwarded": state.forwarded,
        "resume_to": int(state.resume_to) if state.resume_to is not None else None,
        "paused_since": t(state.paused_since),
        "paused": [[t(a), t(b)] for a, b in state.paused],
        "supplements": state.supplements,
        "apologies": state.apologies,
        "fees_paid": state.fees_paid,
        "rating": state.rating,
        "ended_at": t(state.ended_at),
        **({"holder": state.holder} if state.holder else {}),
    }


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def state_from_dict(d: dict[str, Any]) -> DossierState:
    def t(value: str | None) -> datetime | None:
        return _t(value) if value else None

    return DossierState(
        code=d["code"],
        procedure=d["procedure"],
        level=d["level"],
        channel=Channel(d["channel"]),
        status=Status(d["status"]),
        received_at=t(d["received_at"]),
        due_at=t(d["due_at"]),
        forwarded=d["forwarded"],
        resume_to=Status(d["resume_to"]) if d["resume_to"] is not None else None,
        paused_since=t(d["paused_since"]),
        paused=tuple((_t(a), _t(b)) for a, b in d["paused"]),
        supplements=d["supplements"],
        apologies=d["apologies"],
        fees_paid=d["fees_paid"],
        rating=d["rating"],
        ended_at=t(d["ended_at"]),
        holder=d.get("holder"),
    )
