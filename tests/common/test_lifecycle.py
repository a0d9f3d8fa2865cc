"""The dossier state machine: every allowed and every forbidden transition, roles, sides."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import lifecycle
from common.errors import RoleError, TransitionError
from common.lifecycle import ACTIONS, DossierState, Role, Side, Status

VN = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=VN)

# The specification, written out by hand from the portal codes (BRIEF §4): the statuses each
# action may start from. 0 means "the dossier does not exist yet".
ALLOWED_FROM: dict[str, set[int]] = {
    "registered": {0},
    "received": {0},
    "accepted": {1},
    "refused": {0, 1},
    "supplement_requested": {0, 1, 2, 4},
    "supplement_received": {5},
    "forwarded": {2, 4},
    "processing": {2},
    "payment_requested": {2, 4},
    "fee_paid": {2, 4, 5, 6, 9},
    "resolved": {2, 4},
    "result_returned": {9},
    "withdrawn": {1, 2, 4, 5, 6},
    "stopped": {2, 4, 5, 6},
    "apologised": {2, 4, 5, 6},
    "rated": {10},
}
LEADS_TO = {
    "registered": 1, "received": 2, "accepted": 2, "refused": 3, "supplement_requested": 5,
    "processing": 4, "payment_requested": 6, "resolved": 9,
    "result_returned": 10, "withdrawn": 7, "stopped": 8,
}  # fmt: skip
ALL_ROLES = frozenset(Role)


def state(
    status: int, *, level: str = "commune", forwarded: bool = False, **kw: object
) -> DossierState:
    return DossierState(
        code="000.00.12.H26-261123-0001",
        procedure="1.001193",
        level=level,
        channel=lifecycle.Channel.IN_PERSON,
        status=Status(status),
        received_at=T0 if status not in (0, 1) else None,
        due_at=T0 + timedelta(days=3) if status not in (0, 1) else None,
        forwarded=forwarded,
        **kw,  # type: ignore[arg-type]
    )


def test_spec_table_covers_every_action() -> None:
    assert set(ALLOWED_FROM) == set(ACTIONS)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", range(0, 11))
def test_every_transition_allowed_or_refused_as_specified(action: str, status: int) -> None:
    level = "province" if action == "forwarded" else "commune"
    resume = Status.PROCESSING if status in (5, 6) else None
    current = None if status == 0 else state(status, level=level, resume_to=resume)
    if status == 10 and action == "rated":
        current = replace(state(10), rating=None)
    if status in ALLOWED_FROM[action]:
        assert lifecycle.check(current, action, side=Side.COMMUNE, roles=ALL_ROLES).name == action
        after = lifecycle.apply(
            current, event_type=f"dossier.{action}", data={"rating": 3, "amount": 1000},
            at=T0, code="c", side=Side.COMMUNE, roles=ALL_ROLES,
        )  # fmt: skip
        if action in LEADS_TO:
            assert after.status == LEADS_TO[action]
    else:
        with pytest.raises(TransitionError) as info:
            lifecycle.check(current, action, side=Side.COMMUNE, roles=ALL_ROLES)
        assert info.value.code == "illegal_transition"
        assert info.value.status == 409


def test_returning_a_result_for_a_refused_dossier_names_both() -> None:
    with pytest.raises(TransitionError) as info:
        lifecycle.check(state(3), "result_returned", side=Side.COMMUNE, roles=ALL_ROLES)
    assert "Return the result" in info.value.en and "Refused" in info.value.en
    assert "Trả kết quả" in info.value.vi and "Không được tiếp nhận" in info.value.vi


@pytest.mark.parametrize(
    ("action", "status", "allowed", "refused"),
    [
        ("received", 0, {Role.RECEIVER}, {Role.LEADER, Role.ADMIN}),
        ("resolved", 4, {Role.LEADER}, {Role.RECEIVER, Role.ADMIN}),
        ("apologised", 4, {Role.LEADER}, {Role.RECEIVER, Role.ADMIN}),
        ("stopped", 4, {Role.LEADER}, {Role.RECEIVER, Role.ADMIN}),
        ("result_returned", 9, {Role.RECEIVER}, {Role.LEADER, Role.ADMIN}),
    ],
)
def test_roles(action: str, status: int, allowed: set[Role], refused: set[Role]) -> None:
    current = None if status == 0 else state(status)
    for role in allowed:
        lifecycle.check(current, action, side=Side.COMMUNE, roles=frozenset({role}))
    for role in refused:
        with pytest.raises(RoleError):
            lifecycle.check(current, action, side=Side.COMMUNE, roles=frozenset({role}))


def test_forwarded_dossier_belongs_to_the_hub_for_processing() -> None:
    fwd = state(4, level="province", forwarded=True)
    for action in (
        "resolved",
        "supplement_requested",
        "stopped",
        "apologised",
        "payment_requested",
    ):
        with pytest.raises(TransitionError, match="belongs to the hub"):
            lifecycle.check(fwd, action, side=Side.COMMUNE, roles=ALL_ROLES)
        lifecycle.check(fwd, action, side=Side.HUB, roles=frozenset({Role.HUB_OFFICER}))
    with pytest.raises(TransitionError, match="belongs to the commune"):
        lifecycle.check(replace(fwd, status=Status.RESOLVED), "result_returned", side=Side.HUB)
    lifecycle.check(replace(fwd, status=Status.RESOLVED), "result_returned", side=Side.COMMUNE)


def test_hub_may_not_touch_a_commune_dossier() -> None:
    with pytest.raises(TransitionError):
        lifecycle.check(state(4), "resolved", side=Side.HUB, roles=frozenset({Role.HUB_OFFICER}))


def test_forwarding_rules() -> None:
    with pytest.raises(TransitionError, match="decided at the commune"):
        lifecycle.check(state(2), "forwarded", side=Side.COMMUNE, roles=ALL_ROLES)
    with pytest.raises(TransitionError, match="already been forwarded"):
        lifecycle.check(state(4, level="province", forwarded=True), "forwarded", side=Side.COMMUNE)
    with pytest.raises(TransitionError, match="must be forwarded"):
        lifecycle.check(state(2, level="province"), "resolved", side=Side.COMMUNE, roles=ALL_ROLES)


def test_supplement_pauses_the_clock_and_is_counted() -> None:
    s = lifecycle.apply(None, event_type="dossier.received", data={"due": (T0 + timedelta(days=3)).isoformat()},
                        at=T0, code="c", side=Side.COMMUNE)  # fmt: skip
    assert s.clock_running and s.received_at == T0
    t1, t2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    s = lifecycle.apply(
        s, event_type="dossier.supplement_requested", data={}, at=t1, code="c", side=Side.COMMUNE
    )
    assert s.status == Status.SUPPLEMENT and s.paused_since == t1 and s.supplements == 1
    assert not s.clock_running
    s = lifecycle.apply(
        s, event_type="dossier.supplement_received", data={}, at=t2, code="c", side=Side.COMMUNE
    )
    assert s.status == Status.ACCEPTED and s.paused == ((t1, t2),) and s.paused_since is None
    s = lifecycle.apply(
        s, event_type="dossier.processing", data={}, at=t2, code="c", side=Side.COMMUNE
    )
    s = lifecycle.apply(
        s, event_type="dossier.supplement_requested", data={}, at=t2, code="c", side=Side.COMMUNE
    )
    s = lifecycle.apply(
        s, event_type="dossier.supplement_received", data={}, at=t2, code="c", side=Side.COMMUNE
    )
    assert s.status == Status.PROCESSING and s.supplements == 2


def test_guidance_at_intake_does_not_count_as_a_supplement() -> None:
    s = lifecycle.apply(
        None, event_type="dossier.supplement_requested", data={}, at=T0, code="c", side=Side.COMMUNE
    )
    assert s.status == Status.SUPPLEMENT and s.supplements == 0 and s.received_at is None
    later = T0 + timedelta(days=2)
    s = lifecycle.apply(
        s, event_type="dossier.supplement_received", data={}, at=later, code="c", side=Side.COMMUNE
    )
    assert s.status == Status.ACCEPTED and s.received_at == later and s.paused == ()


def test_first_terminal_status_ends_the_clock() -> None:
    s = state(4)
    s = lifecycle.apply(
        s, event_type="dossier.resolved", data={}, at=T0, code="c", side=Side.COMMUNE
    )
    s = lifecycle.apply(
        s,
        event_type="dossier.result_returned",
        data={},
        at=T0 + timedelta(days=5),
        code="c",
        side=Side.COMMUNE,
    )
    assert s.ended_at == T0


def test_apology_after_due_is_recorded_late_and_only_later() -> None:
    s = state(4)
    assert s.due_at is not None
    late = s.due_at + timedelta(minutes=1)
    with pytest.raises(TransitionError, match="recorded as late"):
        lifecycle.check(s, "apologised", side=Side.COMMUNE, now=late)
    new_due = (s.due_at + timedelta(days=3)).isoformat()
    lifecycle.check(s, "apologised", side=Side.COMMUNE, now=late,
                    data={"late": True, "new_due": new_due})  # fmt: skip
    with pytest.raises(TransitionError, match="later than"):
        lifecycle.check(
            s, "apologised", side=Side.COMMUNE, now=T0, data={"new_due": T0.isoformat()}
        )
    new_due = s.due_at + timedelta(days=2)
    after = lifecycle.apply(s, event_type="dossier.apologised", data={"new_due": new_due.isoformat()},
                            at=T0, code="c", side=Side.COMMUNE, now=T0)  # fmt: skip
    assert after.due_at == new_due and after.apologies == 1


def test_rating_only_once() -> None:
    s = lifecycle.apply(
        state(10),
        event_type="dossier.rated",
        data={"rating": 3},
        at=T0,
        code="c",
        side=Side.COMMUNE,
    )
    with pytest.raises(TransitionError, match="already"):
        lifecycle.check(s, "rated", side=Side.COMMUNE)


def test_payment_pause_resumes_where_it_was() -> None:
    s = lifecycle.apply(
        state(4),
        event_type="dossier.payment_requested",
        data={"amount": 5},
        at=T0,
        code="c",
        side=Side.COMMUNE,
    )
    s = lifecycle.apply(
        s,
        event_type="dossier.fee_paid",
        data={"amount": 5},
        at=T0 + timedelta(hours=2),
        code="c",
        side=Side.COMMUNE,
    )
    assert s.status == Status.PROCESSING and s.fees_paid == 5 and len(s.paused) == 1


actions = st.sampled_from(sorted(ACTIONS))


@settings(max_examples=200)
@given(st.lists(actions, max_size=12))
def test_random_action_sequences_keep_invariants(seq: list[str]) -> None:
    """Whatever is tried, the state stays consistent and round-trips through JSON."""
    s: DossierState | None = None
    t = T0
    for name in seq:
        t += timedelta(hours=5)
        try:
            s = lifecycle.apply(s, event_type=f"dossier.{name}", data={"rating": 2, "amount": 1},
                                at=t, code="c", side=Side.COMMUNE, roles=ALL_ROLES, now=t)  # fmt: skip
        except TransitionError:
            continue
        assert lifecycle.state_from_dict(lifecycle.state_to_dict(s)) == s
        assert (s.ended_at is not None) == (
            s.status in lifecycle.TERMINAL or s.ended_at is not None
        )
        if s.status in lifecycle.TERMINAL:
            assert s.ended_at is not None and s.paused_since is None
        if s.paused_since is not None:
            assert s.status in (Status.SUPPLEMENT, Status.PAYMENT)
        for a, b in s.paused:
            assert a <= b
