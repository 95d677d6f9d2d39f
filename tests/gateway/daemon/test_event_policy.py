"""Which notifications become records (coalescing, the flood cap) and the tamper latch: pure."""

from __future__ import annotations

import datetime as dt

from cameras.event_topics import Notification, classify
from gateway.daemon.event_policy import EventThrottle, TamperLatch

MOTION = "tns1:VideoSource/MotionAlarm"
TAMPER = "tns1:VideoSource/ImageTooDark/ImagingService"
INPUT = "tns1:Device/Trigger/DigitalInput"


def note(topic: str, state: bool | None, source: str = "vs0") -> Notification:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return Notification(topic, classify(topic), state, (("Source", source),), (), when, "Changed")


def test_motion_on_every_frame_is_one_record_per_interval_and_the_last_state_is_kept() -> None:
    t = EventThrottle(interval_s=10.0)
    recorded = t.offer(note(MOTION, True), 0.0)
    assert [p.coalesced for p in recorded] == [1]
    for i in range(1, 250):  # 25 fps for 10 s
        assert t.offer(note(MOTION, i % 2 == 0), i * 0.04) == []
    assert t.due(9.99) == []
    [held] = t.due(10.0)
    assert held.notification.state is False and held.coalesced == 249
    assert held.arrived == 249 * 0.04
    assert t.due(30.0) == []


def test_tamper_and_inputs_are_never_coalesced() -> None:
    t = EventThrottle(interval_s=10.0)
    got = [
        t.offer(note(k, s), 0.1 * i)
        for i, (k, s) in enumerate([(TAMPER, True)] * 5 + [(INPUT, False)] * 5)
    ]
    assert all(len(g) == 1 for g in got)


def test_other_sources_are_coalesced_apart() -> None:
    t = EventThrottle(interval_s=10.0)
    assert len(t.offer(note(MOTION, True, "vs0"), 0.0)) == 1
    assert len(t.offer(note(MOTION, True, "vs1"), 0.1)) == 1


def test_a_flood_is_capped_and_counted() -> None:
    t = EventThrottle(interval_s=10.0, max_per_minute=50)
    admitted = sum(len(t.offer(note(TAMPER, True), i * 0.01)) for i in range(80))
    assert admitted == 50 and t.dropped == 30
    assert len(t.offer(note(TAMPER, False), 61.0)) == 1, "room again after a minute"


def test_many_topics_do_not_grow_memory() -> None:
    t = EventThrottle(interval_s=10.0, max_per_minute=10**9)
    for i in range(10_000):
        t.offer(note(f"tns1:RuleEngine/X{i}/Motion", True), 0.0)
    assert len(t._keys) <= 256


def test_tamper_latch_raised_cleared_and_held() -> None:
    latch = TamperLatch(hold_s=60.0)
    assert latch.active(0.0) is None
    latch.update(note(MOTION, True), 0.0)
    assert latch.active(0.0) is None, "only tamper topics"
    latch.update(note(TAMPER, True), 1.0)
    assert latch.active(2.0) == TAMPER
    latch.update(note(TAMPER, False), 3.0)
    assert latch.active(3.0) is None
    latch.update(note("tnsaxis:VideoSource/Tampering", None), 10.0)  # a pulse, no state
    assert latch.active(69.0) == "tnsaxis:VideoSource/Tampering"
    assert latch.active(70.0) is None, "a camera that never clears: cleared after the hold"
