"""The emulator's event service as bytes in and out: subscription addresses, long-poll bounds,
renewal and expiry, and a camera configured without events."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import pytest

from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_events import EventBroker, SimNotification, parse_event_line, termination
from testbeds.onvif_soap import respond

pytestmark = pytest.mark.multicast

NS = (
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tev="http://www.onvif.org/ver10/events/wsdl" '
    'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" '
    'xmlns:wsa="http://www.w3.org/2005/08/addressing" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
)
SUBSCRIBE = (
    "<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT10S"
    "</tev:InitialTerminationTime></tev:CreatePullPointSubscription>"
)
EVENTS_CAPS = "<tds:GetCapabilities><tds:Category>Events</tds:Category></tds:GetCapabilities>"
RENEW = "<wsnt:Renew><wsnt:TerminationTime>PT10S</wsnt:TerminationTime></wsnt:Renew>"
XADDR = "http://127.0.0.1:8080/onvif/device_service"


@dataclass
class Camera:
    config: DeviceConfig
    clock: list[dt.datetime] = field(
        default_factory=lambda: [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    )
    xaddr: str = XADDR

    def now(self) -> dt.datetime:
        return self.clock[0]

    def __post_init__(self) -> None:
        self.events = EventBroker(self.now)


def camera(events: bool = True) -> Camera:
    return Camera(DeviceConfig(default_profiles("rtsp://127.0.0.1:1/m"), events=events))


def ask(cam: Camera, body: str, to: str = "") -> tuple[int, str]:
    header = f"<wsa:To>{to}</wsa:To>" if to else ""
    request = f"<s:Envelope {NS}><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    status, reply = respond(cam, request.encode())
    return status, reply.decode()


def subscribe(cam: Camera) -> str:
    status, reply = ask(cam, SUBSCRIBE)
    assert status == 200, reply
    return reply.split("<wsa5:Address>")[1].split("</wsa5:Address>")[0]


def test_events_are_listed_and_pulled_with_their_topic_source_and_data() -> None:
    cam = camera()
    _, caps = ask(cam, EVENTS_CAPS)
    assert "<tt:Events><tt:XAddr>http://127.0.0.1:8080/onvif/event_service" in caps
    _, services = ask(cam, "<tds:GetServices/>")
    assert "http://www.onvif.org/ver10/events/wsdl" in services
    address = subscribe(cam)
    assert address.startswith("http://127.0.0.1:8080/onvif/events/subscription/")
    cam.events.publish(
        SimNotification(
            "tns1:VideoSource/MotionAlarm", cam.now(), {"Source": "vs0"}, {"State": "true"}
        )
    )
    status, reply = ask(
        cam,
        "<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout><tev:MessageLimit>"
        "10</tev:MessageLimit></tev:PullMessages>",
        to=address,
    )
    assert status == 200
    assert ">tns1:VideoSource/MotionAlarm</wsnt:Topic>" in reply
    assert '<tt:SimpleItem Name="State" Value="true"/>' in reply and 'Value="vs0"' in reply


def test_a_pull_waits_at_most_its_timeout_and_at_most_its_limit() -> None:
    cam = camera()
    address = subscribe(cam)
    start = time.monotonic()
    status, reply = ask(
        cam,
        "<tev:PullMessages><tev:Timeout>PT0.3S</tev:Timeout><tev:MessageLimit>"
        "2</tev:MessageLimit></tev:PullMessages>",
        to=address,
    )
    assert status == 200 and "NotificationMessage" not in reply
    assert 0.25 <= time.monotonic() - start < 2
    for i in range(5):
        cam.events.publish(SimNotification(f"tns1:X/{i}", cam.now(), {}, {}))
    _, reply = ask(
        cam,
        "<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout><tev:MessageLimit>2"
        "</tev:MessageLimit></tev:PullMessages>",
        to=address,
    )
    assert reply.count("<wsnt:NotificationMessage>") == 2


def test_expiry_renewal_and_unsubscribe() -> None:
    cam = camera()
    address = subscribe(cam)
    cam.clock[0] += dt.timedelta(seconds=8)
    status, _ = ask(cam, RENEW, to=address)
    assert status == 200 and cam.events.renewals == 1
    cam.clock[0] += dt.timedelta(seconds=8)
    assert cam.events.active() == 1, "renewed: still alive past its first termination"
    status, _ = ask(cam, "<wsnt:Unsubscribe/>", to=address)
    assert status == 200 and cam.events.active() == 0
    status, reply = ask(
        cam, "<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout></tev:PullMessages>", to=address
    )
    assert status == 400 and "ResourceUnknownFault" in reply
    other = subscribe(cam)
    cam.clock[0] += dt.timedelta(seconds=11)
    status, reply = ask(cam, "<wsnt:Renew/>", to=other)
    assert status == 400 and "ResourceUnknownFault" in reply, "expired"


def test_a_camera_without_events_does_not_offer_them() -> None:
    cam = camera(events=False)
    _, caps = ask(
        cam, "<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>"
    )
    assert "<tt:Events>" not in caps
    status, reply = ask(cam, EVENTS_CAPS)
    assert status == 400 and "NoSuchService" in reply
    status, reply = ask(cam, "<tev:CreatePullPointSubscription/>")
    assert status == 400 or status == 500
    assert "ActionNotSupported" in reply


def test_termination_times() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert termination("PT1M30S", now) == now + dt.timedelta(seconds=90)
    assert termination("", now) == now + dt.timedelta(seconds=60)
    assert termination("2026-01-01T00:05:00Z", now) == now + dt.timedelta(minutes=5)


def test_demo_event_lines() -> None:
    n = parse_event_line(
        "tns1:VideoSource/ImageTooDark/ImagingService State=true source.Source=vs0"
    )
    assert n is not None and n.topic == "tns1:VideoSource/ImageTooDark/ImagingService"
    assert (dict(n.data), dict(n.source)) == ({"State": "true"}, {"Source": "vs0"})
    assert parse_event_line("") is None and parse_event_line("topic novalue") is None
