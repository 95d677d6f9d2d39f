"""The live-update version: it moves with every change the fleet and alarm pages show, and
one reading per second serves every open stream."""

from __future__ import annotations

from sqlalchemy import update

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_alarms, desk_cameras
from central.desk.web.stream import VersionCache, desk_version

from .conftest import T0, Clock, add_alarm, add_camera, add_gateway


def test_the_version_moves_with_reports_alarms_clears_and_acks(catalogue: Catalogue) -> None:
    stale_before = T0 - 60
    seen = [desk_version(catalogue, stale_before)]

    def changed() -> bool:
        seen.append(desk_version(catalogue, stale_before))
        return seen[-1] != seen[-2]

    add_gateway(catalogue, "gw-1")
    assert changed()
    add_camera(catalogue, "gw-1", "gate-1", {"online": True})
    assert changed()
    with catalogue.transaction() as tx:
        tx.c.execute(update(desk_cameras).values(last_seen=T0 + 10))
    assert changed()
    alarm = add_alarm(catalogue, "gw-1", "gate-1")
    assert changed()
    with catalogue.transaction() as tx:
        tx.c.execute(update(desk_alarms).where(desk_alarms.c.id == alarm).values(acked_at=T0))
    assert changed()
    with catalogue.transaction() as tx:
        tx.c.execute(update(desk_alarms).where(desk_alarms.c.id == alarm).values(cleared_at=T0))
    assert changed()
    assert not changed()
    stale_before = T0 + 1  # time passes: gw-1 goes stale without a word
    assert changed()
    assert all(0 <= v < 2**53 for v in seen)


def test_one_reading_per_second_serves_every_stream(catalogue: Catalogue) -> None:
    clock = Clock()
    cache = VersionCache(catalogue, clock, 60.0)
    first = cache.get()
    add_gateway(catalogue, "gw-1")
    assert cache.get() == first
    clock.now += 1.0
    assert cache.get() != first
