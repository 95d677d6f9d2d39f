"""WS-Discovery on loopback: probing, listening, and hostile responders on the camera network."""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from cameras import discovery, wsd
from cameras.errors import NetworkSetupError
from cameras.rejects import RejectLog
from cameras.safe_xml import child, parse_xml, text_of
from cameras.wsd import Announcement
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.cameras.wsd_samples import BILLION_LAUGHS, UID, XXE, flood, hello, match
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

SUPERSCRIPT = "²"


def make_device(n: int = 0, **kw: object) -> OnvifDevice:
    config = DeviceConfig(default_profiles(f"rtsp://127.0.0.1:1/cam{n}"), serial=f"S{n}", **kw)  # type: ignore[arg-type]
    return OnvifDevice(config)


@pytest.fixture
def devices() -> Iterator[list[OnvifDevice]]:
    started = [make_device(i, name=f"cam {i}").start() for i in range(3)]
    yield started
    for d in started:
        d.stop()


Reply = Callable[[str], list[bytes]]  # the Probe's MessageID -> datagrams to answer with


class HostileResponder:
    """Answers every Probe on the group from `host` with what `reply` makes of its MessageID."""

    def __init__(self, reply: Reply, host: str = "127.0.0.1") -> None:
        self.reply = reply
        self.group = discovery.group_socket("127.0.0.1")
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.out.bind((host, 0))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hostile-wsd", daemon=True)

    def _run(self) -> None:
        self.group.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data, sender = self.group.recvfrom(65535)
            except TimeoutError:
                continue
            if b"Probe<" not in data and b"Probe>" not in data:
                continue
            header = child(parse_xml(data, wsd.MAX_DATAGRAM), "Header")
            message_id = text_of(child(header, "MessageID")) if header is not None else ""
            for payload in self.reply(message_id):
                self.out.sendto(payload, sender)

    def __enter__(self) -> HostileResponder:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
        self.group.close()
        self.out.close()


def test_probe_finds_three_cameras_within_three_seconds(devices: list[OnvifDevice]) -> None:
    start = time.monotonic()
    found = discovery.probe("127.0.0.1", timeout_s=2.0)
    assert time.monotonic() - start < 3.0
    ours = {a.endpoint: a for a in found if a.endpoint in {d.config.uuid for d in devices}}
    assert len(ours) == 3
    for d in devices:
        a = ours[d.config.uuid]
        assert a.xaddrs == (d.xaddr,)
        assert a.name == d.config.name and a.location == "lab" and a.hardware == "SimCam-1"


def test_hello_and_bye_reach_the_listener() -> None:
    seen: queue.Queue[Announcement] = queue.Queue()
    device = make_device(7)
    with discovery.AnnouncementListener(seen.put):
        device.start()
        old_xaddr = device.xaddr
        device.restart()  # Bye, then Hello from the new address with the same uuid
        device.stop()
        events: list[Announcement] = []
        deadline = time.monotonic() + 3
        while len(events) < 4 and time.monotonic() < deadline:
            try:
                a = seen.get(timeout=0.2)
            except queue.Empty:
                continue
            if a.endpoint == device.config.uuid:
                events.append(a)
    assert [a.kind for a in events] == ["Hello", "Bye", "Hello", "Bye"]
    assert events[0].xaddrs == (old_xaddr,) and events[2].xaddrs == (device.xaddr,)
    assert events[2].metadata_version > events[0].metadata_version


def _multicast(payloads: list[bytes], host: str = "127.0.0.1") -> None:
    with discovery.sender_socket(host) as s:
        for p in payloads:
            s.sendto(p, (wsd.MULTICAST_GROUP, wsd.WSD_PORT))


def test_a_hostile_datagram_never_kills_the_listener(caplog: pytest.LogCaptureFixture) -> None:
    """The reproduction: one <MetadataVersion>²</MetadataVersion> ended the thread for good."""
    seen: queue.Queue[Announcement] = queue.Queue()
    rejects = RejectLog("WS-Discovery datagram", logging.getLogger("test.wsd"))
    hostile = [BILLION_LAUGHS, XXE, b"\x00" * 50, b"<a>" * 2000, match(addr="")] * 4
    listener = discovery.AnnouncementListener(seen.put, rejects=rejects)
    with caplog.at_level(logging.WARNING), listener:
        _multicast([hello(version=SUPERSCRIPT), *hostile])
        wait_until("every bad datagram is counted", lambda: rejects.count >= len(hostile))
        assert listener.alive()
        [a] = [seen.get(timeout=5)]  # the ² Hello itself is fine: version 0
        assert a.kind == "Hello" and a.metadata_version == 0
        device = make_device(8).start()
        try:
            while (a := seen.get(timeout=5)).endpoint != device.config.uuid:
                pass
        finally:
            device.stop()
        assert listener.alive()
    logged = [r for r in caplog.records if "rejected WS-Discovery datagram" in r.getMessage()]
    assert len(logged) == 1, "one line per sender, not one per datagram"
    assert not any(r.exc_info for r in caplog.records)


def test_a_hello_naming_another_host_is_rejected() -> None:
    seen: queue.Queue[Announcement] = queue.Queue()
    rejects = RejectLog("WS-Discovery datagram", logging.getLogger("test.wsd"))
    with discovery.AnnouncementListener(seen.put, rejects=rejects):
        _multicast([hello(xaddrs="http://192.0.2.99/onvif/device_service")])
        wait_until("the Hello is rejected", lambda: rejects.count == 1)
    # Only its own endpoint counts: a test elsewhere may announce a real emulator meanwhile.
    ours = [a for a in list(seen.queue) if UID.lower() in a.endpoint.lower()]
    assert ours == []


def test_probe_survives_hostile_responders(devices: list[OnvifDevice]) -> None:
    """Entity bombs, junk, oversized and Unicode-digit answers change nothing."""

    def junk(message_id: str) -> list[bytes]:
        return [
            BILLION_LAUGHS, XXE, b"\x00" * 100, b"<a>" * 20000, match(addr=""),
            match(xaddrs="http://127.0.0.1:9/x", version=SUPERSCRIPT, relates=message_id),
        ]  # fmt: skip

    rejects = RejectLog("WS-Discovery datagram", logging.getLogger("test.wsd"))
    with HostileResponder(junk):
        found = discovery.probe("127.0.0.1", timeout_s=1.5, rejects=rejects)
    assert {d.config.uuid for d in devices} <= {a.endpoint for a in found}
    assert rejects.count >= 5


def test_a_flood_of_fake_endpoints_is_capped_and_real_cameras_still_found(
    devices: list[OnvifDevice],
) -> None:
    """ProbeMatches were collected without limit: 30 datagrams of 60 fakes each per Probe."""

    def fakes(message_id: str) -> list[bytes]:
        return [flood(message_id, "127.0.0.2", n * 60, 60) for n in range(30)]

    with HostileResponder(fakes, host="127.0.0.2"):
        found = discovery.probe("127.0.0.1", timeout_s=1.5)
    assert len(found) <= discovery.MAX_ENDPOINTS
    from_fakes = [a for a in found if a.source == "127.0.0.2"]
    assert len(from_fakes) == discovery.MAX_PER_SENDER
    assert {d.config.uuid for d in devices} <= {a.endpoint for a in found}


def test_probe_keeps_only_xaddrs_on_the_senders_host(devices: list[OnvifDevice]) -> None:
    def elsewhere(message_id: str) -> list[bytes]:
        return [match(xaddrs="http://192.0.2.7/onvif/device_service", relates=message_id)]

    with HostileResponder(elsewhere):
        found = discovery.probe("127.0.0.1", timeout_s=1.0)
    # other emulators on this host may answer too: judge only the foreign address and ours
    assert not any("192.0.2.7" in x for a in found for x in a.xaddrs)
    ours = {d.config.uuid for d in devices}
    mine = [a for a in found if a.endpoint in ours]
    assert {a.endpoint for a in mine} == ours
    assert all(x.startswith("http://127.0.0.1:") for a in mine for x in a.xaddrs)


def test_matches_cap_per_sender_and_in_all() -> None:
    rejects = RejectLog("x", logging.getLogger("test.wsd"))
    m = discovery.Matches(rejects, max_endpoints=5, max_per_sender=2)
    hosts = ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")
    for host in hosts:
        for n in range(3):
            m.add(Announcement("ProbeMatch", f"urn:{host}:{n}", (f"http://{host}/o",), source=host))
    got = m.result()
    assert len(got) == 5 and m.dropped == 7
    assert [a.endpoint for a in got][:2] == ["urn:10.0.0.1:0", "urn:10.0.0.1:1"]
    again = Announcement("ProbeMatch", "urn:10.0.0.1:0", ("http://10.0.0.1:81/o",), source=hosts[0])
    m.add(again)
    assert m.result()[0].xaddrs == ("http://10.0.0.1/o", "http://10.0.0.1:81/o")


def test_unknown_interface_is_a_clear_error() -> None:
    with pytest.raises(NetworkSetupError, match="no IPv4 address"):
        discovery.interface_address("nosuchif0")
