"""The OSD keeper: one record per change, refusals reported once, re-applied after a reboot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from cameras.health import HealthCounter
from cameras.osd_plan import OsdWanted
from gateway.config import CameraConfig
from gateway.daemon.camera_identity import CameraIdentity
from gateway.daemon.child_protocol import Event, encode, from_child
from gateway.daemon.osd_keeper import OSD_APPLIED, OSD_REFUSED, OsdKeeper
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

SITE = "测试检查站 一号卡口"


@pytest.fixture
def device() -> Iterator[OnvifDevice]:
    config = DeviceConfig(default_profiles("rtsp://127.0.0.1:1/cam"), username="u", password="p")
    d = OnvifDevice(config, discovery=False).start()
    yield d
    d.stop()


class Keeper:
    """An `OsdKeeper` with its records, events and health kept for the test to read."""

    def __init__(self, d: OnvifDevice, check_s: float = 300.0) -> None:
        self.records: list[tuple[str, dict[str, object]]] = []
        self.events: list[tuple[str, dict[str, object]]] = []
        self.health = HealthCounter("cam")
        camera = CameraConfig(
            "cam", "cam", None, "u", "p", SITE, "passthrough", 60, True,
            onvif=d.xaddr, onvif_username="u", onvif_password="p", osd=True,
        )  # fmt: skip
        self.identity = CameraIdentity("", "SIM0001", "evgw", "m", "1", d.xaddr, "main", "", 0.0)
        self.keeper = OsdKeeper(
            camera,
            OsdWanted(SITE),
            lambda event, extra: self.records.append((event, extra)),
            self.health,
            lambda kind, facts: self.events.append((kind, facts)),
            timeout_s=10.0,
            check_s=check_s,
        )

    def check(self) -> None:
        self.keeper.resolved(self.identity)
        self.keeper.check(self.keeper._target, self.keeper._earlier)  # type: ignore[arg-type]


def test_applied_once_then_checked_cheaply_then_reapplied_after_a_reboot(
    device: OnvifDevice,
) -> None:
    k = Keeper(device)
    k.check()
    assert [e for e, _ in k.records] == [OSD_APPLIED]
    extra = k.records[0][1]
    assert extra["osds"] == [
        {"token": "osd1", "type": "DateAndTime", "position": "UpperLeft",
         "date_format": "yyyy-MM-dd", "time_format": "HH:mm:ss"},
        {"token": "osd2", "type": "Plain", "position": "LowerLeft", "text": SITE},
    ]  # fmt: skip
    assert extra["source"] == "vsc0" and extra["reapplied"] is False
    assert (k.health.snapshot().osd or "").startswith("DateAndTime@UpperLeft, Plain@LowerLeft")
    k.check()
    assert len(k.records) == 1, "nothing changed: no new record"
    device.osd.clear()  # the camera rebooted
    k.check()
    assert [e for e, _ in k.records] == [OSD_APPLIED, OSD_APPLIED]
    assert k.records[1][1]["reapplied"] is True and len(device.osd.snapshot()) == 2
    assert [kind for kind, _ in k.events] == [OSD_APPLIED, OSD_APPLIED]


def test_a_refusal_is_recorded_once_and_reported_in_health(device: OnvifDevice) -> None:
    device.config = replace(device.config, osd_refusal="OSD locked")
    k = Keeper(device)
    k.check()
    k.check()
    assert [e for e, _ in k.records] == [OSD_REFUSED]
    assert "OSD locked" in str(k.records[0][1]["reason"])
    assert (k.health.snapshot().osd or "").startswith("refused: ")
    assert k.events[0][0] == OSD_REFUSED and k.events[0][1]["camera"] == "cam"
    device.config = replace(device.config, osd_refusal=None)
    k.check()
    assert [e for e, _ in k.records] == [OSD_REFUSED, OSD_APPLIED]


def test_an_unreachable_camera_is_retried_without_a_record(device: OnvifDevice) -> None:
    k = Keeper(device)
    device.stop()
    k.keeper.resolved(k.identity)
    assert k.keeper.check(k.keeper._target, None) == 30.0  # type: ignore[arg-type]
    assert not k.records


def test_the_thread_applies_after_resolve_and_stops(device: OnvifDevice) -> None:
    k = Keeper(device)
    k.keeper.start()
    k.keeper.resolved(k.identity)
    wait_until("the OSD is applied", lambda: len(k.records) == 1, 20)
    k.keeper.stop()
    k.keeper.join(5)
    assert not k.keeper.is_alive()


def test_a_periodic_check_finds_a_cleared_osd_without_a_reconnect(device: OnvifDevice) -> None:
    k = Keeper(device, check_s=0.2)
    k.keeper.start()
    try:
        k.keeper.resolved(k.identity)
        wait_until("the OSD is applied", lambda: len(k.records) == 1, 20)
        device.osd.clear()
        wait_until("the OSD is applied again", lambda: len(k.records) == 2, 20)
    finally:
        k.keeper.stop()
        k.keeper.join(5)


def test_osd_events_cross_the_pipe() -> None:
    for event in (
        Event(OSD_APPLIED, {"camera": "c", "osds": 2}),
        Event(OSD_REFUSED, {"reason": "x"}),
    ):
        assert from_child(encode(event)) == event
