"""End to end: a gateway with no [[cameras]] records the ONVIF cameras on loopback, followed
across a restart; the allow-list keeps a stray device out.

Two emulated cameras (one speaking another vendor's dialect) stream from the RTSP test
server; a third device, on another host, is outside `allow_addresses`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import wiring
from gateway.config import Config, parse_config
from gateway.daemon.lifecycle import Gateway
from gateway.daemon.reload import reload
from gateway.enrolled import EnrolledStore
from segments.ledger import signature_ok
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.conftest import RtspServerFactory
from tests.support.recording import decoded_frames, decrypted, make_keys, records
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.multicast]

USER, PASSWORD = "admin", "s3cret"


def enrol_config(tmp_path: Path, extra: str = "") -> Config:
    """Only [discovery] with auto_enroll: not one [[cameras]] table."""
    device_key, recipient = make_keys(tmp_path)
    text = f"""
[gateway]
id = "gw-enrol"
site = "测试检查站"
data_dir = "{tmp_path / "data"}"
[location]
name = "库房"
[recording]
segment_seconds = 2
overlay = "passthrough"
open_timeout_s = 5.0
read_timeout_s = 3.0
[keys]
signing_key = "{device_key}"
recipients = ["{recipient}"]
[discovery]
address = "127.0.0.1"
auto_enroll = true
probe_timeout_s = 1.0
username = "{USER}"
password = "{PASSWORD}"
allow_addresses = ["127.0.0.1/32"]
{extra}
"""
    path = tmp_path / "evgw.toml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path)


def declared(config: Config, camera: str) -> list[object]:
    """What `camera`'s ledger declared about the camera itself, in order."""
    return [r.extra["event"] for r in records(config, camera, "camera")]


def spy_events(gateway: Gateway) -> list[tuple[str, dict[str, object]]]:
    """The daemon's own events (enrolment's among them), as they are emitted."""
    seen: list[tuple[str, dict[str, object]]] = []
    emit = gateway.events.emit

    def spy(kind: str, **fields: object) -> None:
        seen.append((kind, fields))
        emit(kind, **fields)

    gateway.events.emit = spy  # type: ignore[method-assign]
    return seen


@pytest.fixture
def devices(rtsp_server_factory: RtspServerFactory) -> Iterator[list[OnvifDevice]]:
    rtsp = rtsp_server_factory(["a:320x240@25", "b:320x240@25"])
    ours = DeviceConfig(
        default_profiles(rtsp.url("a")), serial="SIM A/1", username=USER, password=PASSWORD
    )
    theirs = DeviceConfig(
        default_profiles(rtsp.url("b")),
        serial="DS-2CD2143G2-I20240101AACH1",
        manufacturer="HIKVISION",
        model="DS-2CD2143G2-I",
        dialect="vendor",
        username=USER,
        password=PASSWORD,
    )
    stray = DeviceConfig(default_profiles("rtsp://127.0.0.3:1/x"), serial="STRAY-1")
    started = [
        OnvifDevice(ours).start(),
        OnvifDevice(theirs).start(),
        OnvifDevice(stray, host="127.0.0.3").start(),
    ]
    yield started
    for d in started:
        d.stop(announce=False)


def test_cameras_found_on_the_network_are_recorded_and_survive_a_restart(
    devices: list[OnvifDevice], tmp_path: Path
) -> None:
    config = enrol_config(tmp_path)
    assert config.cameras == ()
    ids = ["SIM-A-1", "DS-2CD2143G2-I20240101AACH1"]
    gateway = Gateway(config)
    events = spy_events(gateway)
    gateway.start()
    try:
        for camera in ids:
            sealed = lambda c=camera: bool(records(config, c, "segment"))  # noqa: E731
            wait_until(f"{camera} seals a segment", sealed, 60)
        devices[0].restart()  # Bye, then Hello at another address
        wait_until("lost, re-found and moved", lambda: len(declared(config, ids[0])) == 4, 20)
    finally:
        gateway.stop()
    assert sorted(declared(config, ids[0])) == ["found", "lost", "moved", "refound"]
    assert declared(config, ids[0])[:2] == ["found", "lost"]
    verifier = wiring.gateway_keys(config).signer.verifier()
    for camera, device in zip(ids, devices, strict=False):
        found = records(config, camera, "camera")[0]
        assert found.extra["event"] == "found" and found.reason == "found"
        assert found.extra["serial"] == device.config.serial
        assert found.extra["endpoint"] == device.config.uuid
        assert signature_ok(found, verifier)
        segments = records(config, camera, "segment")
        assert all(signature_ok(r, verifier) for r in records(config, camera))
        assert len(decoded_frames(decrypted(config, segments[0]))) == segments[0].media.frames > 0  # type: ignore[union-attr]
    assert records(config, ids[1], "segment")[0].camera_serial == devices[1].config.serial
    kinds = [(k, f.get("camera") or f.get("address")) for k, f in events if k.startswith("camera_")]
    assert ("camera_found", ids[0]) in kinds and ("camera_found", ids[1]) in kinds
    refused = [f for k, f in events if k == "camera_refused"]
    assert [f["address"] for f in refused] == [devices[2].xaddr]
    assert "allow_addresses" in str(refused[0]["reason"])
    assert not (Path(config.gateway.data_dir) / "STRAY-1").exists()

    # A restart records the same cameras under the same ids before any probe answers.
    remembered = [e.id for e in EnrolledStore(config.gateway.data_dir).load()]
    assert sorted(remembered) == sorted(ids)
    assert sorted(wiring.status_scope(config).cameras) == sorted(ids)  # evgw status
    assert wiring.case_sources(config).cameras[ids[1]].name == "HIKVISION"  # find, export
    again = Gateway(config)
    again.start()
    try:
        assert sorted(w.camera for w in again.workers) == sorted(ids)
        assert all(len(records(config, c, "boot")) == 2 for c in ids), "their runs go on"
        # A reload that names the second camera hands it to its configured entry.
        named = f'[[cameras]]\nid = "gate-hik"\nserial = "{devices[1].config.serial}"\n'
        config.path.write_text(config.path.read_text() + named, encoding="utf-8")
        assert reload(again)
        assert sorted(w.camera for w in again.workers) == sorted([ids[0], "gate-hik"])
        taken = lambda: bool(records(config, "gate-hik", "segment"))  # noqa: E731
        wait_until("the configured entry records the camera", taken, 60)
    finally:
        again.stop()
    assert len(declared(config, ids[0])) == 4, "the address it moved to was remembered"
    assert declared(config, ids[1])[-1] == "removed"
    assert len(records(config, ids[0], "boot")) == 2, "the other records on, no new run"


def test_the_device_limit_refuses_what_is_beyond_it(
    devices: list[OnvifDevice], tmp_path: Path
) -> None:
    config = enrol_config(tmp_path, "max_devices = 1\n")
    gateway = Gateway(config)
    events = spy_events(gateway)
    refused = lambda: [f for k, f in events if k == "camera_refused"]  # noqa: E731
    gateway.start()
    try:
        wait_until("both others are refused", lambda: len(refused()) >= 2, 30)
        assert len(gateway.workers) == 1
        found = gateway._rediscover()  # the `rediscover` command: a fresh probe, its answers
        assert found is not None
        assert {d.config.uuid for d in devices} <= {a.endpoint for a in found}
    finally:
        gateway.stop()
    reasons = sorted(str(f["reason"]) for f in refused())
    assert any("max_devices = 1" in r for r in reasons), reasons
    assert any("allow_addresses" in r for r in reasons), reasons
