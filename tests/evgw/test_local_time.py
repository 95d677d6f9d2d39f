"""Times for people: the zone's wall clock with its offset; what is not a time stays as it is."""

from __future__ import annotations

from datetime import UTC, datetime

from evgw.local_time import CONFIG, MACHINE, PACKAGE, declared_or_machine, named, show


def test_a_utc_record_time_is_shown_on_the_sites_clock_with_its_offset() -> None:
    shanghai = named("Asia/Shanghai", CONFIG)
    assert shanghai is not None
    assert show("2026-12-02T08:32:09+00:00", shanghai) == "2026-12-02 16:32:09 +08:00"
    assert (
        show(datetime(2026, 12, 2, 8, 32, 9, tzinfo=UTC), shanghai) == "2026-12-02 16:32:09 +08:00"
    )
    kolkata = named("Asia/Kolkata", CONFIG)
    assert kolkata is not None and show("2026-12-02T08:32:09Z", kolkata).endswith("+05:30")


def test_what_is_not_a_time_is_shown_as_it_is() -> None:
    utc = named("UTC", CONFIG)
    assert show("not a time", utc) == "not a time"
    assert show(None, utc) == "-" and show("", utc) == "-"
    assert show("2026-12-02T08:32:09+00:00", None) == "2026-12-02T08:32:09+00:00"


def test_a_declared_zone_wins_over_the_machines_and_says_so() -> None:
    assert declared_or_machine("Asia/Shanghai").source == PACKAGE
    assert declared_or_machine("Not/AZone").source == MACHINE
    assert declared_or_machine(None).source == MACHINE
