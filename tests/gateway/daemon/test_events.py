"""`EventRouter`: what it keeps of the purges it hears stays within the purge alarm's window."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.daemon import events
from gateway.daemon.events import PURGE_ALARM_S, EventRouter


def test_purge_times_older_than_the_alarm_window_are_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(events, "time", SimpleNamespace(time=lambda: now[0]))
    router = EventRouter()
    for _ in range(1000):  # a full disk purging one segment every 10 s for about 3 hours
        router.on_retention(kind="purge", stream="cam1", seq=1)
        now[0] += 10.0
    assert router.recent_purges(now[0]) == PURGE_ALARM_S / 10 - 1  # the last 10 s: none
    assert len(router._purges) <= PURGE_ALARM_S / 10 + 1  # memory: the window, not the run
