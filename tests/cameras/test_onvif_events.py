"""The PullPoint subscriber against the emulated camera over real SOAP: subscribe, pull, renew,
unsubscribe; a camera without events; a camera that goes away; hostile pull replies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cameras.event_topics import Notification
from cameras.onvif_events import EventSubscriber, EventTarget, PullSettings
from cameras.onvif_transport import OnvifTls
from evgw.backoff import Backoff
from testbeds import onvif_events as sim_events
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

TAMPER = "tns1:VideoSource/ImageTooDark/ImagingService"
FAST = PullSettings(pull_timeout_s=0.5, lease_s=2, call_timeout_s=3, unsupported_retry_s=0.6)


class Run:
    """A subscriber on `device` with what it reported."""

    def __init__(self, device: OnvifDevice, settings: PullSettings = FAST) -> None:
        self.device = device
        self.got: list[Notification] = []
        self.statuses: list[str] = []
        self.rejected = 0
        self.stop = threading.Event()
        self.thread = EventSubscriber(
            "test",
            lambda: EventTarget(device.xaddr, "admin", "pw", 0.0, OnvifTls()),
            self.got.append,
            self.statuses.append,
            self.stop,
            settings=settings,
            backoff=Backoff(initial_s=0.1, cap_s=0.3),
            on_reject=self._reject,
        )

    def _reject(self, n: int) -> None:
        self.rejected += n

    def status_is(self, status: str) -> Callable[[], bool]:
        return lambda: bool(self.statuses) and self.statuses[-1].startswith(status)


@pytest.fixture
def device() -> Iterator[OnvifDevice]:
    config = DeviceConfig(default_profiles("rtsp://127.0.0.1:1/m"), username="admin", password="pw")
    d = OnvifDevice(config, discovery=False).start()
    yield d
    d.stop()


@pytest.fixture
def run(device: OnvifDevice) -> Iterator[Run]:
    r = Run(device)
    yield r
    r.stop.set()
    r.thread.join(10)
    assert not r.thread.is_alive()


def test_subscribe_pull_renew_and_unsubscribe(device: OnvifDevice, run: Run) -> None:
    run.thread.start()
    wait_until("subscribed", run.status_is("subscribed"), 15)
    device.raise_event(TAMPER, {"State": "true"}, {"VideoSourceConfigurationToken": "vsc0"})
    wait_until("the notification", lambda: bool(run.got), 5)
    n = run.got[0]
    assert (n.topic, n.kind, n.state) == (TAMPER, "tamper", True)
    assert n.source == (("VideoSourceConfigurationToken", "vsc0"),)
    assert n.camera_time is not None and abs((device.now() - n.camera_time).total_seconds()) < 5
    wait_until("renewed before the 2 s lease ends", lambda: device.events.renewals >= 2, 10)
    assert device.events.active() == 1 and run.statuses == ["subscribed"]
    run.stop.set()
    run.thread.join(5)
    assert device.events.unsubscribed == 1 and device.events.active() == 0


def test_a_camera_without_events_is_unsupported_not_an_error(run: Run) -> None:
    run.device.config = DeviceConfig(
        run.device.config.profiles, username="admin", password="pw", events=False
    )
    asked: list[int] = []
    run.thread.start()
    wait_until("reported unsupported", run.status_is("unsupported"), 15)
    asked.append(run.device.credentialed_requests)
    wait_until("asked again after the retry delay", lambda: run.device.credentialed_requests
               > asked[0], 10)  # fmt: skip
    assert run.statuses == ["unsupported"], "reported once, not as an error"


def test_action_not_supported_is_unsupported(device: OnvifDevice, run: Run) -> None:
    broker = device.events
    device.events = None  # type: ignore[assignment]
    try:
        run.thread.start()
        wait_until("reported unsupported", run.status_is("unsupported"), 15)
    finally:
        device.events = broker


def test_a_camera_that_goes_away_is_subscribed_again(device: OnvifDevice, run: Run) -> None:
    run.thread.start()
    wait_until("subscribed", run.status_is("subscribed"), 15)
    device.stop(announce=False)
    wait_until("the loss reported", run.status_is("error: "), 10)
    device.start()
    wait_until("subscribed again", run.status_is("subscribed"), 15)
    device.raise_event("tns1:Device/Trigger/DigitalInput", {"LogicalState": "false"}, {})
    wait_until("the notification", lambda: bool(run.got), 5)
    assert (run.got[0].kind, run.got[0].state) == ("input", False)


def _message(topic: str, data: str, utc: str = "2026-01-01T00:00:00Z") -> str:
    return (
        f"<wsnt:NotificationMessage><wsnt:Topic>{topic}</wsnt:Topic><wsnt:Message>"
        f'<tt:Message UtcTime="{utc}"><tt:Data>{data}</tt:Data></tt:Message></wsnt:Message>'
        "</wsnt:NotificationMessage>"
    )


def _reply(inner: str) -> str:
    return f"<tev:PullMessagesResponse {sim_events.EVENT_NS}>{inner}</tev:PullMessagesResponse>"


GOOD = _message("tns1:VideoSource/MotionAlarm", '<tt:SimpleItem Name="State" Value="true"/>')
HOSTILE_PULLS: dict[str, str] = {
    "huge": _reply("<tev:CurrentTime>" + "9" * (2 * 1024 * 1024) + "</tev:CurrentTime>"),
    "malformed": "<tev:PullMessagesResponse><unclosed>",
    "wrong_body": "<tt:Nothing/>",
    "wrong_types": _reply(
        _message("", "")
        + _message("x" * 5000, "")
        + _message("tns1:VideoSource/MotionAlarm", '<tt:SimpleItem Name="State"/>', utc="never")
        + _message("tns1:A\x07B", "")
    ),
    "too_many": _reply(GOOD * 200),
    "deep": _reply("<tt:X>" * 3000 + "</tt:X>" * 3000),
}


def _raising(device: OnvifDevice, run: Run) -> Callable[[], bool]:
    """True once a tamper notification arrived; raises one every 0.5 s until then (one raised
    while the subscriber subscribes again after a failure reaches no subscription)."""
    due = [0.0]

    def arrived() -> bool:
        if time.monotonic() >= due[0]:
            device.raise_event(TAMPER, {"State": "true"}, {})
            due[0] = time.monotonic() + 0.5
        return any(n.topic == TAMPER for n in run.got)

    return arrived


@pytest.mark.parametrize("case", sorted(HOSTILE_PULLS))
def test_hostile_pull_replies_are_reported_and_survived(
    device: OnvifDevice, run: Run, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    hostile: list[str] = [HOSTILE_PULLS[case]]
    honest = sim_events.pull_messages

    def pull(*args: Any) -> str:
        return hostile.pop() if hostile else honest(*args)

    monkeypatch.setattr(sim_events, "pull_messages", pull)
    run.thread.start()
    wait_until("the hostile reply consumed", lambda: not hostile, 15)
    wait_until("a real notification after it", _raising(device, run), 15)
    assert run.thread.is_alive()
    assert all(len(n.topic) <= 256 and len(n.data) <= 8 for n in run.got)
    if case == "wrong_types":
        assert run.rejected >= 2 and [n.state for n in run.got if n.kind == "motion"] == [None]
        assert all(n.topic.isprintable() for n in run.got)
    elif case == "too_many":
        assert run.rejected == 200 - FAST.message_limit
        assert len([n for n in run.got if n.kind == "motion"]) == FAST.message_limit
    elif case == "huge":
        assert any(s.startswith("error: ") for s in run.statuses), run.statuses
    else:  # zeep recovers what it can of broken XML (as for every ONVIF reply): nothing read
        assert [n.topic for n in run.got] == [TAMPER] * len(run.got)
