"""Camera events end to end: the emulator raises tamper over real SOAP, the gateway records it
(signed `event` record), reports it on a real mosquitto, raises `camera_tamper` (seen by
`evgw monitor`), clears it, and `evgw verify` lists the events as such."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from segments.ledger import signature_ok
from segments.signing import load_signer
from segments.verify import PASSING
from testbeds.mosquitto import MosquittoServer
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.conftest import RtspServerFactory
from tests.support.mqtt_fixtures import settings_for
from tests.support.paths import REPO
from tests.support.recording import make_config, records
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.multicast]
ROOT = "evgw/gw-test"
CAMERA = "gate-1"
PLAIN = "gate-2"  # its camera has no event service
TAMPER = "tns1:VideoSource/GlobalSceneChange/ImagingService"
MOTION = "tns1:VideoSource/MotionAlarm"
WITHIN_S = 5.0


@pytest.fixture
def cameras(rtsp_server_factory: RtspServerFactory) -> Iterator[tuple[OnvifDevice, OnvifDevice]]:
    """A camera with the event service, and one without it."""
    rtsp = rtsp_server_factory(["cam1:320x240@25", "cam2:320x240@25"])
    devices = tuple(
        OnvifDevice(
            DeviceConfig(default_profiles(rtsp.url(mount)), username="admin", password="s3cret",
                         serial=serial, events=events),
            discovery=False,
        ).start()
        for mount, serial, events in (("cam1", "EV-1", True), ("cam2", "EV-2", False))
    )  # fmt: skip
    yield devices[0], devices[1]
    for device in devices:
        device.stop()


def camera_toml(camera: str, device: OnvifDevice) -> str:
    return (
        f'[[cameras]]\nid = "{camera}"\nname = "{camera}"\nonvif = "{device.xaddr}"\n'
        'onvif_username = "admin"\nonvif_password = "s3cret"\noverlay = "passthrough"\n'
    )


def gateway_config(
    tmp_path: Any, devices: tuple[OnvifDevice, OnvifDevice], broker: MosquittoServer
) -> Config:
    extra = (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nhealth_interval_s = 30\n'
        "keepalive_s = 5\n" + camera_toml(CAMERA, devices[0]) + camera_toml(PLAIN, devices[1])
    )
    return make_config(tmp_path, [], extra=extra)


def events_of(probe: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in probe.json_on(f"{ROOT}/events") if e.get("kind") == kind]


def _health(probe: Any, camera: str) -> dict[str, Any]:
    found = probe.json_on(f"{ROOT}/cameras/{camera}/health")
    return found[-1] if found else {}


def active_alarms(probe: Any) -> set[str]:
    latest = probe.json_on(f"{ROOT}/alarms")
    return {a["alarm"] for a in latest[-1]["active"]} if latest else set()


def test_tamper_reaches_ledger_mqtt_and_monitor_within_5_s(
    cameras: tuple[OnvifDevice, OnvifDevice],
    mqtt_broker: MosquittoServer,
    probe_factory,
    tmp_path,
    capsys,
) -> None:
    camera = cameras[0]
    config = gateway_config(tmp_path, cameras, mqtt_broker)
    probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/#"])
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("the camera's events are subscribed", lambda: camera.events.active() > 0, 30)
        raised = time.monotonic()
        camera.raise_event(TAMPER, {"State": "true"}, {"VideoSourceConfigurationToken": "vsc0"})
        wait_until("a signed event record", lambda: bool(records(config, CAMERA, "event")), 10)
        in_ledger = time.monotonic() - raised
        wait_until("camera_event on MQTT", lambda: bool(events_of(probe, "camera_event")), 10)
        on_mqtt = time.monotonic() - raised
        wait_until("camera_tamper active", lambda: "camera_tamper" in active_alarms(probe), 10)
        alarmed = time.monotonic() - raised
        assert main(["monitor", "--broker", f"127.0.0.1:{mqtt_broker.port}", "--once"]) == 0
        shown = capsys.readouterr().out
        print(f"tamper: ledger {in_ledger:.2f} s, MQTT {on_mqtt:.2f} s, alarm {alarmed:.2f} s")
        assert max(in_ledger, on_mqtt, alarmed) <= WITHIN_S
        assert "camera_tamper" in shown and CAMERA in shown

        for _ in range(20):  # a chatty camera: motion on every frame
            camera.raise_event(MOTION, {"State": "true"}, {"VideoSourceToken": "vs0"})
        camera.raise_event(TAMPER, {"State": "false"}, {"VideoSourceConfigurationToken": "vsc0"})
        wait_until("camera_tamper cleared", lambda: "camera_tamper" not in active_alarms(probe), 10)
        wait_until(
            "the cleared tamper recorded", lambda: len(records(config, CAMERA, "event")) >= 3
        )
        plain = next(w for w in gateway.workers if w.camera == PLAIN)
        wait_until("the plain camera unsupported", lambda: plain.health.snapshot().event_service
                   == "unsupported", 20)  # fmt: skip
        assert plain.health.snapshot().last_error is None, "unsupported is no error"
    finally:
        gateway.stop()
    assert camera.events.unsubscribed >= 1, "stopping unsubscribes"

    signer = load_signer(config.keys.signing_key)
    recorded = records(config, CAMERA, "event")
    assert all(signature_ok(r, signer.verifier()) for r in recorded)
    first = recorded[0]
    assert first.extra["topic"] == TAMPER and first.extra["kind"] == "tamper"
    assert first.extra["state"] is True and first.camera_serial == "EV-1"
    assert first.extra["source"] == {"VideoSourceConfigurationToken": "vsc0"}
    assert first.extra["camera_time"] and first.start
    motion = [r for r in recorded if r.extra["kind"] == "motion"]
    assert 1 <= len(motion) <= 2, "20 motion notifications coalesced"
    assert [r.extra["state"] for r in recorded if r.extra["kind"] == "tamper"] == [True, False]
    published = events_of(probe, "camera_event")[0]
    assert (published["camera"], published["topic"], published["event"], published["state"]) == (
        CAMERA, TAMPER, "tamper", True,
    )  # fmt: skip
    assert _health(probe, CAMERA)["event_service"] == "subscribed"
    assert not records(config, PLAIN, "event")
    assert "camera_tamper" not in {e["alarm"] for e in events_of(probe, "alarm_raised")
                                   if e["camera"] == PLAIN}  # fmt: skip

    done = subprocess.run(
        [sys.executable, "-m", "gateway", "verify", str(config.gateway.data_dir), "--json",
         "--pubkey", f"{config.keys.signing_key}.pub"],
        cwd=REPO, capture_output=True, timeout=120,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["verdict"] in PASSING, json.dumps(report, ensure_ascii=False)[:3000]
    rows = [f for s in report["streams"] for f in s["findings"] if f["kind"] == "event"]
    assert len(rows) == len(recorded)
    assert all(r["verdict"] == "OK" for r in rows)
    assert "camera tamper " + TAMPER + " on" in rows[0]["detail"]
