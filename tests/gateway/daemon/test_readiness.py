"""READY waits until every camera records or has declared a gap, within a bound."""

from __future__ import annotations

import threading

from gateway.daemon.liveness import CameraProgress
from gateway.daemon.progress import Observation
from gateway.daemon.readiness import settled, wait_settled


def cam(online: bool, gap: str | None = None, alive: bool = True) -> CameraProgress:
    return CameraProgress("gate-1", 2.0, alive, online, gap, since=0.0)


class Tracker:
    """The camera supervisor's observations, one per call to `latest`."""

    def __init__(self, *rounds: tuple[CameraProgress, ...] | None) -> None:
        self.rounds = list(rounds)

    def latest(self) -> Observation | None:
        cameras = self.rounds.pop(0) if len(self.rounds) > 1 else self.rounds[0]
        return None if cameras is None else Observation(0.0, cameras)


def test_settled_means_recording_or_a_declared_gap() -> None:
    assert settled([cam(True), cam(False, "camera_offline")])
    assert not settled([cam(True), cam(False)]), "still connecting, nothing declared"
    assert not settled([cam(True, alive=False)])


def test_waits_for_the_camera_processes_then_returns() -> None:
    tracker = Tracker(None, (cam(False),), (cam(True),))
    assert wait_settled(tracker, threading.Event(), timeout_s=5.0)  # type: ignore[arg-type]
    assert tracker.rounds == [(cam(True),)]


def test_gives_up_after_the_bound_and_on_stop() -> None:
    ticks = iter(range(100))
    never = Tracker((cam(False),))
    assert not wait_settled(never, threading.Event(), 3.0, lambda: next(ticks))  # type: ignore[arg-type]
    stop = threading.Event()
    stop.set()
    assert not wait_settled(Tracker((cam(True),)), stop)  # type: ignore[arg-type]
