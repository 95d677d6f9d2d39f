"""Resolving cameras against ONVIF test cameras: URLs, discovery by serial, moves, enrollment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import av
import pytest

from cameras.errors import StreamError
from cameras.onvif_client import DeviceInfo
from cameras.onvif_replies import MediaProfile
from cameras.rtsp import AUTH_FAILED, CAMERA_OFFLINE
from gateway.config import (
    CameraConfig,
    Config,
    DiscoveryConfig,
    RecordingConfig,
    config_from_mapping,
)
from gateway.daemon.directory import CameraDirectory
from gateway.daemon.enrollment import Enrollment, camera_id_for
from gateway.daemon.resolver import (
    IDENTITY_MISMATCH,
    CameraAuthError,
    CameraIdentityError,
    CameraNotFoundError,
    CameraResolver,
)
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.process import find_free_port
from tests.conftest import RtspServerFactory
from tests.gateway.config.sample import FAKE, base
from tests.support.waiting import wait_until

RECORDING = RecordingConfig(60, "burn_in", "libx264", "veryfast", 23, 5.0, 5.0)
LOOPBACK = DiscoveryConfig(None, "127.0.0.1", False, 1.0, None, None)
DeviceFactory = Callable[..., OnvifDevice]


def camera(**kw: Any) -> CameraConfig:
    values: dict[str, Any] = {
        "id": "gate-1",
        "name": "gate-1",
        "rtsp": None,
        "username": None,
        "password": None,
        "location": "lab",
        "overlay": "burn_in",
        "segment_seconds": 60,
        "enabled": True,
    }
    return CameraConfig(**{**values, **kw})


@pytest.fixture
def device_factory() -> Iterator[DeviceFactory]:
    started: list[OnvifDevice] = []

    def start(discovery: bool = False, port: int = 0, **kw: Any) -> OnvifDevice:
        kw.setdefault("profiles", default_profiles("rtsp://127.0.0.1:1/main"))
        d = OnvifDevice(DeviceConfig(**kw), port, discovery=discovery).start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def directory() -> Iterator[CameraDirectory]:
    d = CameraDirectory(LOOPBACK, probe_interval_s=0.0).start()
    yield d
    d.stop()


# --- resolving --------------------------------------------------------------------------------


def test_rtsp_camera_is_its_url() -> None:
    cam = camera(rtsp="rtsp://192.0.2.10/s", username="u", password="p")
    settings = CameraResolver(cam, RECORDING).resolve()
    assert (settings.url, settings.username, settings.password) == ("rtsp://192.0.2.10/s", "u", "p")
    assert settings.open_timeout_s == 5.0


@pytest.mark.integration
def test_onvif_camera_resolves_to_a_playable_stream(
    rtsp_server_factory: RtspServerFactory, device_factory: DeviceFactory
) -> None:
    rtsp = rtsp_server_factory(["main:640x360@25"])
    d = device_factory(
        profiles=default_profiles(rtsp.url("main")),
        username="admin",
        password="s3cret",
        serial="SN-7",
        clock_skew_s=120,
    )
    cam = camera(onvif=d.xaddr, onvif_username="admin", onvif_password="s3cret")
    resolver = CameraResolver(cam, RECORDING)
    settings = resolver.resolve()
    assert settings.url == rtsp.url("main")
    identity = resolver.identity
    assert identity is not None
    assert (identity.serial, identity.model, identity.firmware, identity.xaddr) == (
        "SN-7",
        "SimCam-1",
        "1.0.0",
        d.xaddr,
    )
    assert abs(identity.clock_offset_s - 120) < 1.5
    with av.open(settings.url, options={"rtsp_transport": "tcp"}, timeout=(10, 5)) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (640, 360)


def test_serial_camera_is_found_by_discovery(
    device_factory: DeviceFactory, directory: CameraDirectory
) -> None:
    device_factory(discovery=True, serial="OTHER-1")
    d = device_factory(discovery=True, serial="WANTED-1")
    resolver = CameraResolver(camera(serial="WANTED-1"), RECORDING, directory)
    assert resolver.resolve().url == "rtsp://127.0.0.1:1/main"
    assert resolver.identity is not None
    assert (resolver.identity.endpoint, resolver.identity.xaddr) == (d.config.uuid, d.xaddr)


def test_hello_from_a_new_address_is_followed(
    device_factory: DeviceFactory, directory: CameraDirectory
) -> None:
    d = device_factory(discovery=True, serial="SN-9")
    wait_until("the Hello is seen", lambda: directory.xaddrs(d.config.uuid) == (d.xaddr,), 3.0)
    resolver = CameraResolver(camera(onvif=d.xaddr), RECORDING, directory)
    assert resolver.resolve().url == "rtsp://127.0.0.1:1/main"
    assert resolver.identity is not None and resolver.identity.endpoint == d.config.uuid
    # The camera comes back elsewhere: new ONVIF port, new RTSP address, same uuid and serial.
    d.config = dataclasses.replace(d.config, profiles=default_profiles("rtsp://127.0.0.2:1/main"))
    d.restart()
    wait_until("the Hello is seen", lambda: directory.xaddrs(d.config.uuid) == (d.xaddr,), 3.0)
    assert resolver.resolve().url == "rtsp://127.0.0.2:1/main"
    assert resolver.identity is not None and resolver.identity.xaddr == d.xaddr


def test_failed_address_then_fresh_probe_finds_the_same_serial(
    device_factory: DeviceFactory,
) -> None:
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)  # no listener: no Hello seen
    d = device_factory(discovery=True, serial="SN-MOVE")
    resolver = CameraResolver(camera(serial="SN-MOVE"), RECORDING, directory)
    resolver.resolve()
    old = d.xaddr
    d.stop(announce=False)
    d.config = dataclasses.replace(d.config, profiles=default_profiles("rtsp://127.0.0.3:1/main"))
    d.port = 0
    d.start()
    assert d.xaddr != old
    assert resolver.resolve().url == "rtsp://127.0.0.3:1/main"
    assert resolver.identity is not None and resolver.identity.xaddr == d.xaddr


def test_wrong_password_is_a_clear_auth_gap(device_factory: DeviceFactory) -> None:
    d = device_factory(username="admin", password="right")
    cam = camera(onvif=d.xaddr, onvif_username="admin", onvif_password="wrong")
    with pytest.raises(CameraAuthError) as info:
        CameraResolver(cam, RECORDING).resolve()
    assert isinstance(info.value, StreamError) and info.value.reason == AUTH_FAILED
    message = str(info.value)
    assert message.startswith("gate-1: ") and "refused the credentials" in message
    assert "onvif_password" in message and "right" not in message


def test_unreachable_camera_is_offline_not_a_crash() -> None:
    cam = camera(onvif=f"http://127.0.0.1:{find_free_port()}/onvif/device_service")
    with pytest.raises(CameraNotFoundError) as info:
        CameraResolver(cam, RECORDING).resolve()
    assert info.value.reason == CAMERA_OFFLINE
    assert "not reachable" in str(info.value) and "[discovery] is off" in str(info.value)


def test_serial_not_on_the_network(directory: CameraDirectory) -> None:
    with pytest.raises(CameraNotFoundError, match="serial 'NOPE-404' not reachable"):
        CameraResolver(camera(serial="NOPE-404"), RECORDING, directory).resolve()


def test_another_camera_at_the_address_is_refused(device_factory: DeviceFactory) -> None:
    d = device_factory(serial="SN-A")
    resolver = CameraResolver(camera(onvif=d.xaddr), RECORDING)
    resolver.resolve()
    port = d.port
    d.stop()
    device_factory(port=port, serial="SN-B")
    with pytest.raises(CameraIdentityError) as info:
        resolver.resolve()
    assert info.value.reason == IDENTITY_MISMATCH
    assert "'SN-B', not 'SN-A'" in str(info.value)


# --- enrollment ------------------------------------------------------------------------------


def device(serial: str, xaddr: str = "http://192.0.2.20/onvif/device_service") -> DeviceInfo:
    profile = MediaProfile("main", "MainStream", "H264", 1280, 720, 25.0)
    return DeviceInfo(
        endpoint=f"urn:uuid:{serial}",
        xaddr=xaddr,
        manufacturer="Acme",
        model="IPC-1",
        firmware="2.0",
        serial=serial,
        hardware_id="",
        profiles=(profile,),
        profile_token="main",
        stream_uri="rtsp://192.0.2.20/main",
        clock_offset_s=0.0,
        name="yard",
    )


def config_with(auto_enroll: bool) -> Config:
    data = base()
    data["discovery"] = {"address": "127.0.0.1", "auto_enroll": auto_enroll, "username": "u"}
    data["cameras"].append({"id": "known", "serial": "SN 1/A"})
    return config_from_mapping(data, FAKE)


def test_auto_enroll_records_new_cameras_once() -> None:
    enrollment = Enrollment(config_with(auto_enroll=True))
    new = enrollment.review([device("SN 1/A"), device("SN 2/B"), device("gate-1")])
    assert [(c.id, c.serial, c.name, c.onvif_username) for c in new] == [
        ("SN-2-B", "SN 2/B", "yard", "u"),
        ("gate-1-2", "gate-1", "yard", "u"),
    ]
    assert all(c.uses_onvif and c.enabled and c.segment_seconds == 60 for c in new)
    assert enrollment.review([device("SN 2/B")]) == []


def test_without_auto_enroll_new_cameras_are_only_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    enrollment = Enrollment(config_with(auto_enroll=False))
    assert enrollment.review([device("SN 1/A"), device("SN-3")]) == []
    reported = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
    assert len(reported) == 1 and 'serial = "SN-3"' in reported[0]


def test_camera_id_for() -> None:
    assert camera_id_for("ABC-123", ()) == "ABC-123"
    assert camera_id_for("  ", ()) == "camera"
    assert camera_id_for("a b", ("a-b", "a-b-2")) == "a-b-3"
    assert len(camera_id_for("x" * 200, ())) <= 64
