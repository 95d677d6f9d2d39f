"""End to end: a camera that comes back at another address (Bye, then Hello) is followed live.

The daemon's WS-Discovery listener passes the Hello to the camera's process, which drops the
stream in use at once, resolves the camera at its new address, declares the move in a signed
`camera` record and records on: the only gap is the switch itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import wiring
from gateway.daemon.camera_child import _follower
from gateway.daemon.child_protocol import Announced
from gateway.daemon.directory import CameraDirectory
from gateway.daemon.lifecycle import Gateway
from gateway.daemon.resolver import CameraResolver
from segments.ledger import signature_ok
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.conftest import RtspServerFactory
from tests.gateway.daemon.test_resolver import LOOPBACK, RECORDING, camera
from tests.support.recording import make_config, records, wall
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

FOLLOW_S = 10.0
SWITCH_S = 5.0  # the longest switch: drop, ONVIF queries at the new address, RTSP open


@pytest.mark.integration
def test_a_camera_at_a_new_address_is_recorded_on_within_seconds(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path
) -> None:
    rtsp = rtsp_server_factory(["cam:320x240@25"])
    device = OnvifDevice(DeviceConfig(default_profiles(rtsp.url("cam")), serial="SN-MOVE")).start()
    config = make_config(
        tmp_path,
        [],
        extra=f"""
[discovery]
address = "127.0.0.1"
probe_timeout_s = 1.0
[[cameras]]
id = "yard"
onvif = "{device.xaddr}"
overlay = "passthrough"
""",
    )
    gateway = Gateway(config)
    gateway.start()
    old = device.xaddr
    try:
        wait_until("a first segment", lambda: bool(records(config, "yard", "segment")), 60)
        device.restart()  # Bye, then Hello from another port: a new address
        new = device.xaddr
        took = wait_until(
            "a segment recorded after the declared move",
            lambda: any(
                r.kind == "segment" and any(c.kind == "camera" for c in records(config, "yard"))
                and r.seq > max(c.seq for c in records(config, "yard", "camera"))
                for r in records(config, "yard")
            ),
            30,
        )  # fmt: skip
    finally:
        gateway.stop()
        device.stop()
    assert took < FOLLOW_S, f"the move took {took:.1f} s to follow"
    [moved] = records(config, "yard", "camera")
    assert moved.reason == "moved" and moved.extra["event"] == "moved"
    assert (moved.extra["old_address"], moved.extra["new_address"]) == (old, new)
    assert moved.extra["serial"] == "SN-MOVE" and moved.extra["endpoint"] == device.config.uuid
    assert signature_ok(moved, wiring.gateway_keys(config).signer.verifier())
    gaps = [g for g in records(config, "yard", "gap") if g.reason != "startup"]
    assert [g.reason for g in gaps] == ["camera_moved"], gaps
    [gap] = gaps
    before = [r for r in records(config, "yard", "segment") if r.seq < gap.seq]
    after = [r for r in records(config, "yard", "segment") if r.seq > moved.seq]
    assert before and after
    assert gap.start == before[-1].end and gap.end == after[0].start
    assert wall(gap.end) - wall(gap.start) < SWITCH_S, "a gap beyond the switch"
    assert wall(gap.start) <= wall(moved.start) <= wall(after[0].start)


class Worker:
    """What the follower drives: the camera's resolver and the worker's `moved`."""

    name = "camera-yard"

    def __init__(self, resolver: CameraResolver) -> None:
        self.resolver = resolver
        self.moves = 0

    def moved(self) -> None:
        self.moves += 1


def test_announced_moves_are_followed_at_a_bounded_rate() -> None:
    endpoint = "urn:uuid:6f1c0000-0000-4000-8000-000000000009"
    here = "http://192.0.2.10/onvif/device_service"
    directory = CameraDirectory(LOOPBACK)
    cam = camera(onvif=here, serial="SN-9", onvif_endpoint=endpoint)
    worker = Worker(CameraResolver(cam, RECORDING, directory))
    follow = _follower(directory, worker)  # type: ignore[arg-type]
    follow(Announced("Hello", endpoint.upper(), (here,)))  # where it is: nothing to do
    follow(Announced("Hello", "urn:uuid:6f1c0000-0000-4000-8000-00000000000a", ("http://x/",)))
    assert worker.moves == 0
    for n in range(5):  # a flood of forged Hellos costs two drops, not five
        follow(Announced("Hello", endpoint, (f"http://192.0.2.{20 + n}/onvif/device_service",)))
    assert worker.moves == 2
    assert directory.xaddrs(endpoint) == ("http://192.0.2.24/onvif/device_service",)
    follow(Announced("Bye", endpoint, ()))
    assert directory.xaddrs(endpoint) == ()
