"""Resolving cameras against ONVIF test cameras: URLs, discovery by serial, and who is trusted.

Each 127.x loopback address plays a machine on the camera network, so a camera can move to
another host and an impostor can answer from one.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from cameras.errors import StreamError
from cameras.onvif_transport import fingerprint_of
from cameras.rtsp import AUTH_FAILED, CAMERA_OFFLINE
from gateway.config import CameraConfig, DiscoveryConfig, RecordingConfig
from gateway.daemon.camera_identity import IDENTITY_CHANGED, MOVED, CameraChange, Pin, change
from gateway.daemon.directory import CameraDirectory
from gateway.daemon.resolver import (
    IDENTITY_MISMATCH,
    STREAM_HOST_REFUSED,
    CameraAuthError,
    CameraIdentityError,
    CameraNotFoundError,
    CameraResolver,
    ResolveError,
    StreamHostError,
)
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.pki import write_test_pki
from testbeds.process import find_free_port
from tests.conftest import RtspServerFactory
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

RECORDING = RecordingConfig(60, "burn_in", "libx264", "", "veryfast", 23, 5.0, 5.0)
LOOPBACK = DiscoveryConfig(None, "127.0.0.1", False, 1.0, None, None)
DeviceFactory = Callable[..., OnvifDevice]
MAIN = "rtsp://127.0.0.1:1/main"


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

    def start(
        discovery: bool = False, port: int = 0, host: str = "127.0.0.1", tls: Any = None, **kw: Any
    ) -> OnvifDevice:
        kw.setdefault("profiles", default_profiles(f"rtsp://{host}:1/main"))
        d = OnvifDevice(DeviceConfig(**kw), port, discovery=discovery, host=host, tls=tls)
        started.append(d.start())
        return d

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def directory() -> Iterator[CameraDirectory]:
    d = CameraDirectory(LOOPBACK, probe_interval_s=0.0).start()
    yield d
    d.stop()


class Declared(list[CameraChange]):
    """A `declare` callback that keeps what it was handed."""

    def __call__(self, change: CameraChange) -> None:
        self.append(change)


def move(d: OnvifDevice, *, announce: bool = False, **config: Any) -> None:
    """The device comes back on another port (another address), as a camera whose IP changed."""
    d.stop(announce=announce)
    d.config = dataclasses.replace(d.config, **config)
    d.port = 0
    d.start()


# --- resolving --------------------------------------------------------------------------------


def test_rtsp_camera_is_its_url() -> None:
    cam = camera(rtsp="rtsp://192.0.2.10/s", username="u", password="p", allow_basic_auth=True)
    settings = CameraResolver(cam, RECORDING).resolve()
    assert (settings.url, settings.username, settings.password) == ("rtsp://192.0.2.10/s", "u", "p")
    assert settings.open_timeout_s == 5.0 and settings.allow_basic_auth


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
    assert settings.url == rtsp.url("main") and not settings.allow_basic_auth
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
    declared = Declared()
    resolver = CameraResolver(camera(serial="WANTED-1"), RECORDING, directory)
    assert resolver.resolve(declared).url == MAIN
    assert resolver.identity is not None
    assert (resolver.identity.endpoint, resolver.identity.xaddr) == (d.config.uuid, d.xaddr)
    assert declared == []  # found, not moved: there was no address before


def test_hello_from_a_new_address_is_followed_and_declared(
    device_factory: DeviceFactory, directory: CameraDirectory
) -> None:
    d = device_factory(discovery=True, serial="SN-9")
    wait_until("the Hello is seen", lambda: directory.xaddrs(d.config.uuid) == (d.xaddr,), 3.0)
    declared = Declared()
    resolver = CameraResolver(camera(onvif=d.xaddr), RECORDING, directory)
    assert resolver.resolve(declared).url == MAIN and declared == []
    assert resolver.identity is not None and resolver.identity.endpoint == d.config.uuid
    old = d.xaddr
    move(d, announce=True, profiles=default_profiles("rtsp://127.0.0.1:2/main"))
    wait_until("the Hello is seen", lambda: directory.xaddrs(d.config.uuid) == (d.xaddr,), 3.0)
    assert resolver.resolve(declared).url == "rtsp://127.0.0.1:2/main"
    assert resolver.identity is not None and resolver.identity.xaddr == d.xaddr
    [moved] = declared
    assert moved.event == MOVED
    assert moved.facts() == {
        "old_address": old, "new_address": d.xaddr, "serial": "SN-9",
        "endpoint": d.config.uuid, "old_endpoint": d.config.uuid,
        "cert_sha256": None, "old_cert_sha256": None,
    }  # fmt: skip


def test_failed_address_then_fresh_probe_finds_the_pinned_endpoint(
    device_factory: DeviceFactory,
) -> None:
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)  # no listener: no Hello seen
    d = device_factory(discovery=True, serial="SN-MOVE")
    declared = Declared()
    resolver = CameraResolver(camera(serial="SN-MOVE"), RECORDING, directory)
    resolver.resolve(declared)
    assert resolver.pin.endpoint == d.config.uuid
    old = d.xaddr
    move(d, profiles=default_profiles("rtsp://127.0.0.1:3/main"))
    assert d.xaddr != old
    assert resolver.resolve(declared).url == "rtsp://127.0.0.1:3/main"
    assert [(c.event, c.old.xaddr, c.new.xaddr) for c in declared] == [(MOVED, old, d.xaddr)]


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


# --- the stream comes from the camera's own host ----------------------------------------------


def test_a_stream_uri_on_another_host_is_refused_unless_allowed(
    device_factory: DeviceFactory,
) -> None:
    d = device_factory(profiles=default_profiles("rtsp://127.0.0.9:554/elsewhere"))
    with pytest.raises(StreamHostError) as info:
        CameraResolver(camera(onvif=d.xaddr), RECORDING).resolve()
    assert info.value.reason == STREAM_HOST_REFUSED
    assert 'stream_hosts = ["127.0.0.9"]' in str(info.value)
    allowed = camera(onvif=d.xaddr, stream_hosts=("127.0.0.9",))
    assert CameraResolver(allowed, RECORDING).resolve().url == "rtsp://127.0.0.9:554/elsewhere"


# --- who gets credentials when the camera is gone -----------------------------------------


@pytest.mark.parametrize("by", ["onvif", "serial"])
def test_an_impostor_with_the_serial_gets_no_credentials(
    device_factory: DeviceFactory, by: str
) -> None:
    """The reproduction: when the last address failed, whoever answered the probe with the
    camera's serial got the ONVIF digest and the RTSP credentials, and was recorded as it."""
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)
    real = device_factory(discovery=True, serial="SN-REAL", username="u", password="p")
    where = {"onvif": real.xaddr} if by == "onvif" else {"serial": "SN-REAL"}
    cam = camera(**where, onvif_username="u", onvif_password="p")
    declared = Declared()
    resolver = CameraResolver(cam, RECORDING, directory)
    resolver.resolve(declared)
    real.stop(announce=False)  # power cut; someone else takes over
    impostor = device_factory(
        discovery=True, host="127.0.0.2", serial="SN-REAL", username="u", password="p"
    )
    with pytest.raises(CameraNotFoundError):
        resolver.resolve(declared)
    assert impostor.credentialed_requests == 0 and declared == []


def test_a_reset_camera_on_its_host_is_an_identity_change(device_factory: DeviceFactory) -> None:
    """A new endpoint UUID on the pinned host (a factory reset) is asked, and declared."""
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)
    d = device_factory(discovery=True, serial="SN-RESET")
    declared = Declared()
    resolver = CameraResolver(camera(serial="SN-RESET"), RECORDING, directory)
    resolver.resolve(declared)
    old_uuid = d.config.uuid
    move(d, uuid="urn:uuid:0badcafe-0000-4000-8000-000000000001")
    resolver.resolve(declared)
    [changed] = declared
    assert changed.event == IDENTITY_CHANGED
    assert (changed.old.endpoint, changed.new.endpoint) == (old_uuid, d.config.uuid)
    assert resolver.pin.endpoint == d.config.uuid


def test_a_copied_endpoint_elsewhere_is_declared_before_use(
    device_factory: DeviceFactory,
) -> None:
    """An impostor that copies the announced UUID can be asked (nothing in ONVIF proves who
    it is); it is declared as a move before its video is used, and its stream must be its own."""
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)
    real = device_factory(discovery=True, serial="SN-C")
    declared = Declared()
    resolver = CameraResolver(camera(serial="SN-C"), RECORDING, directory)
    resolver.resolve(declared)
    real.stop(announce=False)
    pointing_back = default_profiles(MAIN)  # its stream "at the real camera's" host
    copy = device_factory(
        discovery=True, host="127.0.0.2", serial="SN-C", uuid=real.config.uuid,
        profiles=pointing_back,
    )  # fmt: skip
    with pytest.raises(StreamHostError):
        resolver.resolve(declared)
    assert declared == []
    copy.config = dataclasses.replace(
        copy.config, profiles=default_profiles("rtsp://127.0.0.2:1/m")
    )
    assert resolver.resolve(declared).url == "rtsp://127.0.0.2:1/m"
    [moved] = declared
    assert moved.event == MOVED and moved.new.xaddr == copy.xaddr


def test_a_failing_declaration_means_the_camera_is_not_used(
    device_factory: DeviceFactory,
) -> None:
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)
    d = device_factory(discovery=True, serial="SN-D")
    resolver = CameraResolver(camera(serial="SN-D"), RECORDING, directory)
    resolver.resolve()
    old = resolver.pin
    move(d)

    def broken(change: CameraChange) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        resolver.resolve(broken)
    assert resolver.pin == old
    declared = Declared()
    resolver.resolve(declared)
    assert [c.event for c in declared] == [MOVED]


# --- https: the certificate is part of who the camera is ------------------------------------


@pytest.fixture(scope="module")
def two_certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    first = write_test_pki(tmp_path_factory.mktemp("a"))
    second = write_test_pki(tmp_path_factory.mktemp("b"), ca="evgw second test CA")
    both = tmp_path_factory.mktemp("ca") / "both.pem"
    both.write_text(first[0].read_text() + second[0].read_text())
    return both, (first[1], first[2]), (second[1], second[2])


def _sha(cert: Path) -> str:
    return fingerprint_of(ssl.PEM_cert_to_DER_cert(cert.read_text()))


def test_a_new_certificate_is_an_identity_change(
    device_factory: DeviceFactory, two_certs: tuple[Path, Any, Any]
) -> None:
    ca, first, second = two_certs
    d = device_factory(tls=first, serial="SN-TLS")
    declared = Declared()
    resolver = CameraResolver(camera(onvif=d.xaddr, onvif_ca_file=ca), RECORDING)
    resolver.resolve(declared)
    assert resolver.identity is not None and resolver.identity.cert_sha256 == _sha(first[0])
    port = d.port
    d.stop()
    d.tls, d.port = second, port
    d.start()
    resolver.resolve(declared)
    [changed] = declared
    assert changed.event == IDENTITY_CHANGED
    assert changed.facts()["old_cert_sha256"] == _sha(first[0])
    assert changed.facts()["cert_sha256"] == _sha(second[0])


def test_a_pinned_certificate_refuses_another(
    device_factory: DeviceFactory, two_certs: tuple[Path, Any, Any]
) -> None:
    _, first, second = two_certs
    d = device_factory(tls=second, serial="SN-PIN", username="u", password="p")
    cam = camera(
        onvif=d.xaddr, onvif_cert_sha256=_sha(first[0]), onvif_username="u", onvif_password="p"
    )
    with pytest.raises(ResolveError, match="not the pinned certificate"):
        CameraResolver(cam, RECORDING).resolve()
    assert d.credentialed_requests == 0


# --- the change rules, pure -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "event"),
    [
        (Pin(), Pin("http://a/", "u1", "S", ""), None),
        (Pin("http://a/"), Pin("http://a/", "u1", "S"), None),
        (Pin("http://a/", "u1"), Pin("http://b/", "u1"), MOVED),
        (Pin("http://a/", "u1"), Pin("http://a/", "u2"), IDENTITY_CHANGED),
        (Pin("http://a/", "u1"), Pin("http://b/", "u2"), IDENTITY_CHANGED),
        (Pin("http://a/", "", "S", "c1"), Pin("http://a/", "", "S", "c2"), IDENTITY_CHANGED),
        (Pin("http://a/", "u1", "S", "c1"), Pin("http://a/", "", "S", ""), None),
    ],
)
def test_change_rules(old: Pin, new: Pin, event: str | None) -> None:
    found = change(old, new)
    assert (found.event if found else None) == event


# --- hostile discovery answers in the probe path ---------------------------------------------


def test_hostile_probe_answers_do_not_stop_a_serial_search(device_factory: DeviceFactory) -> None:
    """The reproduction: one ProbeMatch with <MetadataVersion>²</MetadataVersion> raised out of
    the probe, out of the camera worker, and crash-looped the camera process."""
    from tests.cameras.test_discovery import HostileResponder
    from tests.cameras.wsd_samples import match

    rejected: list[tuple[str, str, bool]] = []
    directory = CameraDirectory(
        LOOPBACK, probe_interval_s=0.0, on_reject=lambda *r: rejected.append(r)
    )
    d = device_factory(discovery=True, serial="SN-H")

    def superscript(message_id: str) -> list[bytes]:
        bad = match(xaddrs="http://127.0.0.1:9/x", version="²", relates=message_id)
        return [bad, b"<a>" * 5000, match(addr="", relates=message_id)]

    with HostileResponder(superscript):
        resolver = CameraResolver(camera(serial="SN-H"), RECORDING, directory)
        assert resolver.resolve().url == MAIN
    assert resolver.pin.endpoint == d.config.uuid
    assert rejected and rejected[0][2] and directory.rejects.count >= 2
