"""ONVIF queries against the test camera: device facts, profiles, discovery end to end, https."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import av
import pytest

from cameras import onvif_client
from cameras.errors import (
    OnvifAuthError,
    OnvifConnectionError,
    OnvifError,
    OnvifFaultError,
    OnvifReplyError,
    OnvifTlsError,
)
from cameras.onvif_client import probe_device
from cameras.onvif_replies import MediaProfile, choose_profile
from cameras.onvif_transport import OnvifTls, fingerprint_of
from testbeds.onvif_config import DeviceConfig, SimProfile, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.process import find_free_port
from tests.conftest import RtspServerFactory

pytestmark = pytest.mark.multicast

DeviceFactory = Callable[..., OnvifDevice]


@pytest.fixture
def device_factory() -> Iterator[DeviceFactory]:
    started: list[OnvifDevice] = []

    def start(discovery: bool = False, tls: Any = None, **kw: Any) -> OnvifDevice:
        kw.setdefault(
            "profiles", default_profiles("rtsp://127.0.0.1:1/main", "rtsp://127.0.0.1:1/sub")
        )
        d = OnvifDevice(DeviceConfig(**kw), discovery=discovery, tls=tls).start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def test_device_info_profiles_stream_and_clock_offset(device_factory: DeviceFactory) -> None:
    d = device_factory(
        username="admin",
        password="s3cret",
        clock_skew_s=3 * 3600 + 17,
        serial="SN-1",
        model="IPC-9",
    )
    info = probe_device(d.xaddr, "admin", "s3cret", timeout_s=10)
    assert (info.manufacturer, info.model, info.serial, info.firmware, info.hardware_id) == (
        "evgw",
        "IPC-9",
        "SN-1",
        "1.0.0",
        "evgw-sim",
    )
    assert [(p.token, p.size, p.fps, p.encoding) for p in info.profiles] == [
        ("sub", "640x360", 25, "H264"),
        ("main", "1280x720", 25, "H264"),
    ]
    assert info.profile_token == "main" and info.stream_uri == "rtsp://127.0.0.1:1/main"
    assert abs(info.clock_offset_s - (3 * 3600 + 17)) < 1.5


def test_configured_profile_by_name(device_factory: DeviceFactory) -> None:
    d = device_factory()
    info = probe_device(d.xaddr, profile="SubStream")
    assert info.profile_token == "sub" and info.stream_uri.endswith("/sub")


def test_wrong_password_is_a_clear_auth_error(device_factory: DeviceFactory) -> None:
    d = device_factory(username="admin", password="right")
    with pytest.raises(OnvifAuthError, match="refused the credentials"):
        probe_device(d.xaddr, "admin", "wrong", timeout_s=10)


def test_soap_fault_text_reaches_the_message(device_factory: DeviceFactory) -> None:
    d = device_factory(fail_operation="GetProfiles")
    with pytest.raises(OnvifFaultError, match=r"SOAP fault: GetProfiles failed \(simulated\)"):
        probe_device(d.xaddr, timeout_s=10)


def test_unreachable_device() -> None:
    with pytest.raises(OnvifConnectionError, match="cannot reach"):
        probe_device(f"http://127.0.0.1:{find_free_port()}/onvif/device_service", timeout_s=5)


def test_choose_profile() -> None:
    a = MediaProfile("a", "Sub", "H264", 640, 360, 25)
    b = MediaProfile("b", "Main", "H264", 1920, 1080, 15)
    c = MediaProfile("c", "Main30", "H264", 1920, 1080, 30)
    assert choose_profile([a, b, c]) == c
    assert choose_profile([a, b, c], "Sub") == a and choose_profile([a, b, c], "b") == b
    with pytest.raises(OnvifError, match="no profile 'x'"):
        choose_profile([a], "x")
    with pytest.raises(OnvifReplyError):
        choose_profile([])


# --- discovery end to end -------------------------------------------------------------------


def test_discover_queries_every_camera(device_factory: DeviceFactory) -> None:
    devices = [
        device_factory(discovery=True, serial=f"D{i}", name=f"gate {i}", username="u", password="p")
        for i in range(3)
    ]
    bad = device_factory(discovery=True, serial="BAD", username="u", password="other")
    result = onvif_client.discover("127.0.0.1", timeout_s=1.5, username="u", password="p")
    got = {i.endpoint: i for i in result.devices}
    for d in devices:
        info = got[d.config.uuid]
        assert (info.serial, info.name, info.xaddr) == (d.config.serial, d.config.name, d.xaddr)
    failed = {a.endpoint: e for a, e in result.failures}
    assert isinstance(failed[bad.config.uuid], OnvifAuthError)


@pytest.mark.integration
def test_discovered_stream_uri_plays(
    rtsp_server_factory: RtspServerFactory, device_factory: DeviceFactory
) -> None:
    rtsp = rtsp_server_factory(["sub:640x360@25", "main:1280x720@25"])
    profiles = (
        SimProfile("p0", "Sub", 640, 360, 25, rtsp.url("sub")),
        SimProfile("p1", "Main", 1280, 720, 25, rtsp.url("main")),
    )
    d = device_factory(discovery=True, profiles=profiles)
    result = onvif_client.discover("127.0.0.1", timeout_s=1.5)
    [info] = [i for i in result.devices if i.endpoint == d.config.uuid]
    assert info.stream_uri == rtsp.url("main")
    with av.open(info.stream_uri, options={"rtsp_transport": "tcp"}, timeout=(10, 5)) as c:
        frames = []
        for frame in c.decode(video=0):
            frames.append((frame.width, frame.height))
            if len(frames) == 5:
                break
    assert frames == [(1280, 720)] * 5


# --- https: verified by a CA, or pinned -----------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any, Any]:
    from testbeds.pki import write_test_pki

    first = write_test_pki(tmp_path_factory.mktemp("pki1"))
    second = write_test_pki(tmp_path_factory.mktemp("pki2"))
    return first, second, _der_sha256(first[1]), _der_sha256(second[1])


def _der_sha256(pem_path: Any) -> str:
    import ssl

    return fingerprint_of(ssl.PEM_cert_to_DER_cert(pem_path.read_text()))


def test_https_verified_by_ca_file_reports_the_certificate(
    device_factory: DeviceFactory, pki: Any
) -> None:
    (ca, cert, key), _, sha, _ = pki
    d = device_factory(tls=(cert, key), username="admin", password="pw")
    assert d.xaddr.startswith("https://")
    info = probe_device(d.xaddr, "admin", "pw", timeout_s=10, tls=OnvifTls(ca_file=ca))
    assert info.cert_sha256 == sha


def test_https_pinned_fingerprint(device_factory: DeviceFactory, pki: Any) -> None:
    (_, cert, key), _, sha, other = pki
    d = device_factory(tls=(cert, key))
    colons = ":".join(sha[i : i + 2] for i in range(0, 64, 2)).upper()
    assert probe_device(d.xaddr, tls=OnvifTls(cert_sha256=colons)).cert_sha256 == sha
    with pytest.raises(OnvifTlsError, match=f"SHA-256 {sha}, not the pinned") as e:
        probe_device(d.xaddr, tls=OnvifTls(cert_sha256=other))
    assert f'onvif_cert_sha256 = "{sha}"' in str(e.value)


def test_https_untrusted_certificate_is_refused_before_credentials(
    device_factory: DeviceFactory, pki: Any
) -> None:
    (_, cert, key), (other_ca, _, _), sha, _ = pki
    d = device_factory(tls=(cert, key), username="admin", password="pw")
    for tls in (OnvifTls(), OnvifTls(ca_file=other_ca)):
        with pytest.raises(OnvifTlsError, match="not trusted") as e:
            probe_device(d.xaddr, "admin", "pw", timeout_s=10, tls=tls)
        assert f'onvif_cert_sha256 = "{sha}"' in str(e.value)
