"""A hub put back from a backup older than a commune's enrolment, or than its new laptop,
when the commune no longer signs with the key it enrolled with (found by the campaign once
it drew laptop replacements and such restores). The commune shows the hub what the hub
signed — its enrolment, and the ``key.replaced`` record of its new laptop — and its own
rotation records, proving the key it signs with now; the hub knows it again, every commune
syncs again and nothing is lost. The old laptop stays refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import laptops
from tests.faults.harness import MARITAL, Observer, Template, ThreadWorld, build_template
from tests.faults.lifecycle import every_commune_syncs, syncs_again


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory.mktemp("tmpl-keys"), nodes=2, processes=False,
                          life=True)  # fmt: skip


@pytest.fixture
def w(template: Template, tmp_path: Path) -> Iterator[ThreadWorld]:
    world = ThreadWorld(template, tmp_path / "w")
    try:
        world.start()
        assert world.intake(0, MARITAL, "Nguyễn Văn An") and world.sync(0)
        assert world.intake(1, MARITAL, "Trần Thị Bình") and world.sync(1)
        yield world
    finally:
        world.close()


def _converges(w: ThreadWorld) -> None:
    assert every_commune_syncs(w, rounds=4), [Observer.node(n.db).last_error for n in w.nodes]
    assert not w.recovering()
    assert w.converge() == []


def test_a_rotated_commune_introduces_itself_to_a_hub_from_before_its_enrolment(
    w: ThreadWorld,
) -> None:
    w.rotate_key(0)  # the enrolled key is deleted once the hub holds the rotation
    assert w.intake(0, MARITAL, "Lê Văn Cường") and w.sync(0) and w.sync(0)
    w.restore_hub_before_enrolment(0)
    _converges(w)
    assert Observer.node(w.nodes[0].db).alarms.count("hub_reintroduced") == 1


@pytest.mark.parametrize("before", [0, 1])
def test_a_new_laptop_introduces_its_commune_to_a_hub_from_before_the_enrolment(
    w: ThreadWorld, before: int
) -> None:
    """``before`` 0: the hub knows neither commune; 1: it knows commune 0 from its first
    laptop, not its new one."""
    old = laptops.replace_laptop(w, 0, old_comes_back=False)
    assert w.intake(0, MARITAL, "Phạm Thị Dung") and w.sync(0)
    w.restore_hub_before_enrolment(before)
    _converges(w)
    laptops.refused(w, 0, old)


def test_a_new_laptop_is_known_again_by_a_hub_from_before_the_replacement(
    w: ThreadWorld,
) -> None:
    w.backup_hub()
    old = laptops.replace_laptop(w, 0, old_comes_back=False)
    assert w.intake(0, MARITAL, "Hoàng Văn Em") and w.sync(0)
    w.restore_hub(0)
    _converges(w)
    laptops.refused(w, 0, old)


def test_a_new_laptop_after_a_rotation_of_the_old_one(w: ThreadWorld) -> None:
    w.rotate_key(0)
    assert w.sync(0) and w.sync(0)
    w.backup_hub()
    old = laptops.replace_laptop(w, 0, old_comes_back=True)
    w.rotate_key(0)
    assert w.intake(0, MARITAL, "Võ Thị Giang") and w.sync(0) and w.sync(0)
    w.restore_hub_before_enrolment(0)
    _converges(w)
    laptops.refused(w, 0, old)


def test_receipts_a_declared_break_gave_up_are_not_given_back(
    template: Template, tmp_path: Path
) -> None:
    """A laptop put back from an older copy, then a hub restore closed early (a declared
    break: the communes re-send what it lost, at new leaves), then the hub put back from
    before a commune's enrolment: the receipts of the given-up branch named other leaves
    and roots; given back, they stopped the rebuilt log for ever ("the rebuilt log differs
    from the proven root"). A commune that adopts a break keeps no pin beyond it."""
    w = ThreadWorld(template, tmp_path / "w")
    try:
        w.start()
        _given_up(w)
    finally:
        w.close()


def _given_up(w: ThreadWorld) -> None:
    assert w.intake(0, MARITAL, "Nguyễn Văn Đức") and w.sync(0)
    w.backup_node(0)
    w.backup_hub()
    assert w.intake(0, MARITAL, "Trần Thị Mai") and w.intake(1, MARITAL, "Lê Hoàng Ánh")
    assert w.sync(0) and w.sync(1)
    w.restore_node(0, 0)
    w.nodes[0].proxy.set_down(True)
    assert w.intake(0, MARITAL, "Phạm Thị Ngọc Hân")
    w.nodes[0].proxy.set_down(False)
    assert w.sync(0)
    w.restore_hub(0)
    assert not w.sync(1) and w.recovering()
    assert w.close_recovery()
    assert syncs_again(w, 0, within=2) and syncs_again(w, 1, within=2)
    assert w.intake(1, MARITAL, "Y Bơ Niê") and w.sync(1)
    w.restore_hub_before_enrolment(1)
    _converges(w)
