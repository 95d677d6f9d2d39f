"""OSD over real SOAP on the emulator: set, read back, idempotent, refused, hostile replies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from cameras.errors import (
    OnvifAuthError,
    OnvifFaultError,
    OnvifReplyError,
    OnvifTlsError,
    OsdRefusedError,
)
from cameras.onvif_osd import NS_MEDIA2, OsdTarget, _media_service, apply_osd
from cameras.onvif_transport import OnvifTls
from cameras.osd_plan import OsdWanted
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.onvif_osd import SimOsd
from testbeds.pki import write_test_pki

pytestmark = pytest.mark.multicast

SITE = "测试检查站 一号卡口"
WANTED = OsdWanted(SITE)


@pytest.fixture
def device() -> Iterator[OnvifDevice]:
    config = DeviceConfig(
        default_profiles("rtsp://127.0.0.1:1/cam"),
        username="admin",
        password="pw",
        clock_skew_s=900,
    )
    d = OnvifDevice(config, discovery=False).start()
    yield d
    d.stop()


def target(d: OnvifDevice, password: str = "pw") -> OsdTarget:
    return OsdTarget(d.xaddr, "main", "admin", password, 900.0, timeout_s=10.0)


def test_osd_is_set_read_back_and_not_duplicated(device: OnvifDevice) -> None:
    first = apply_osd(target(device), WANTED)
    shown = device.osd.snapshot()
    assert [(o.text_type, o.position, o.plain_text) for o in shown] == [
        ("DateAndTime", "UpperLeft", ""),
        ("Plain", "LowerLeft", SITE),
    ]
    assert shown[0].date_format == "yyyy-MM-dd" and shown[0].time_format == "HH:mm:ss"
    assert first.changed and first.site.source == "vsc0"
    assert [o.token for o in first.applied] == ["osd1", "osd2"]

    before = device.credentialed_requests
    again = apply_osd(target(device), WANTED, earlier=first)
    assert not again.changed and device.credentialed_requests - before == 1  # one GetOSDs

    fresh = apply_osd(target(device), WANTED)  # a new process remembers nothing
    assert not fresh.changed and len(device.osd.snapshot()) == 2 and device.osd.creates == 2


def test_a_rebooted_camera_gets_its_osd_again(device: OnvifDevice) -> None:
    first = apply_osd(target(device), WANTED)
    device.osd.clear()
    again = apply_osd(target(device), WANTED, earlier=first)
    assert again.changed and len(device.osd.snapshot()) == 2 and device.osd.creates == 4


def test_a_refusing_camera_is_a_fault_and_no_osd_is_an_unsupported_refusal(
    device: OnvifDevice,
) -> None:
    device.config = replace(device.config, osd_refusal="OSD locked by the administrator")
    with pytest.raises(OnvifFaultError, match="locked by the administrator"):
        apply_osd(target(device), WANTED)
    device.config = replace(device.config, osd_refusal=None)
    with pytest.raises(OnvifAuthError):
        apply_osd(target(device, "wrong"), WANTED)
    device.config = replace(device.config, osd=False)
    with pytest.raises(OsdRefusedError, match="no OSD"):
        apply_osd(target(device), WANTED)


def test_a_camera_that_shows_something_else_is_caught_on_read_back(
    device: OnvifDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = device.osd
    create = store.create

    def tampering(request: object) -> str:
        reply = create(request)  # type: ignore[arg-type]
        with store._lock:
            for token, osd in store._osds.items():
                store._osds[token] = replace(osd, position="UpperRight")
        return reply

    monkeypatch.setattr(store, "create", tampering)
    with pytest.raises(OsdRefusedError, match=r"reads back otherwise.*position"):
        apply_osd(target(device), WANTED)


@pytest.mark.parametrize(
    "reply",
    [
        "<trt:GetOSDsResponse><trt:OSDs token='x'><tt:Type>Text</tt:Type></trt:OSDs>"
        "<trt:OSDs/></trt:GetOSDsResponse>",
        "<trt:GetOSDsResponse>" + "<trt:OSDs token='t'/>" * 500 + "</trt:GetOSDsResponse>",
        "<trt:GetOSDsResponse><trt:OSDs token='" + "x" * 40_000 + "'/></trt:GetOSDsResponse>",
        "<trt:GetOSDOptionsResponse/>",
    ],
)
def test_hostile_osd_lists_end_in_the_declared_error_or_a_bounded_plan(
    device: OnvifDevice, monkeypatch: pytest.MonkeyPatch, reply: str
) -> None:
    monkeypatch.setattr(device.osd, "osds_xml", lambda request: reply)
    try:
        outcome = apply_osd(target(device), WANTED)
    except (OnvifReplyError, OsdRefusedError):
        return
    assert len(outcome.applied) <= 2


def test_media_service_choice() -> None:
    def service(ns: str, osd: str | None = None) -> SimpleNamespace:
        element = {} if osd is None else {"OSD": osd}
        caps = SimpleNamespace(_value_1=[element])
        return SimpleNamespace(Namespace=ns, XAddr="http://10.9.9.9:81/media", Capabilities=caps)

    device = "http://192.0.2.5/onvif/device_service"
    media = "http://www.onvif.org/ver10/media/wsdl"
    assert _media_service([service(media)], device) == "http://192.0.2.5/media"
    with pytest.raises(OsdRefusedError, match="only ONVIF Media2"):
        _media_service([service(NS_MEDIA2)], device)
    with pytest.raises(OsdRefusedError, match="no OSD"):
        _media_service([service(media, "false")], device)
    with pytest.raises(OsdRefusedError, match="no ONVIF media"):
        _media_service("garbage", device)


def test_emulator_osd_xml_escapes_text() -> None:
    osd = SimOsd("t<1>", "vsc0", "LowerLeft", "Plain", "a</tt:PlainText><x>")
    assert "&lt;/tt:PlainText&gt;" in osd.xml("trt:OSDs") and 'token="t&lt;1&gt;"' in osd.xml("x")


def test_a_camera_that_cuts_the_text_keeps_one_copy(device: OnvifDevice) -> None:
    device.osd.cut_text_at = 8
    first = apply_osd(target(device), WANTED)
    assert first.truncated and first.applied[-1].plain_text == SITE[:8]
    assert not apply_osd(target(device), WANTED, earlier=first).changed
    fresh = apply_osd(target(device), WANTED)
    assert not fresh.changed and device.osd.creates == 2


def test_a_camera_without_get_services_is_asked_by_get_capabilities(device: OnvifDevice) -> None:
    device.config = replace(device.config, fail_operation="GetServices")
    assert apply_osd(target(device), WANTED).changed and len(device.osd.snapshot()) == 2


def test_over_https_only_a_trusted_camera_gets_credentials(tmp_path: Path) -> None:
    ca, cert, key = write_test_pki(tmp_path / "a")
    other_ca = write_test_pki(tmp_path / "b", ca="evgw other CA")[0]
    config = DeviceConfig(default_profiles("rtsp://127.0.0.1:1/cam"), username="u", password="p")
    d = OnvifDevice(config, discovery=False, tls=(cert, key)).start()
    try:
        ok = OsdTarget(d.xaddr, "main", "u", "p", 0.0, OnvifTls(ca_file=ca))
        assert apply_osd(ok, WANTED).changed
        sent = d.credentialed_requests
        with pytest.raises(OnvifTlsError):
            apply_osd(replace(ok, tls=OnvifTls(ca_file=other_ca)), WANTED)
        assert d.credentialed_requests == sent
    finally:
        d.stop()
