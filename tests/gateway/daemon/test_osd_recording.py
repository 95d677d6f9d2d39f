"""End to end: a passthrough ONVIF camera gets its OSD set, signed in its ledger, set again
after a reboot; a camera that refuses is reported and recorded all the same."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evgw.local_time import CONFIG, named, show
from gateway.cli.main import main
from gateway.config import Config
from gateway.daemon.camera_process import CameraProcess
from gateway.daemon.lifecycle import Gateway
from segments.records import Record
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.rtsp import RtspTestServer
from tests.conftest import RtspServerFactory
from tests.support.paths import REPO
from tests.support.recording import archive_identity, make_config, records
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

SITE_TEXT = "测试检查站 一号卡口"  # make_config's site is part of its location name


@pytest.fixture
def cameras(
    rtsp_server_factory: RtspServerFactory,
) -> Iterator[tuple[tuple[RtspTestServer, OnvifDevice], ...]]:
    started = []
    for name, refusal in (("osd", None), ("locked", "OSD locked by the administrator")):
        server = rtsp_server_factory(["cam1:320x240@25"])
        config = DeviceConfig(
            default_profiles(server.url("cam1")),
            serial=f"SN-{name}",
            username="admin",
            password="pw",
            osd_refusal=refusal,
        )
        started.append((server, OnvifDevice(config, discovery=False).start()))
    yield tuple(started)
    for _, device in started:
        device.stop()


def camera_toml(name: str, device: OnvifDevice) -> str:
    return (
        f'[[cameras]]\nid = "{name}"\nonvif = "{device.xaddr}"\nonvif_username = "admin"\n'
        'onvif_password = "pw"\noverlay = "passthrough"\nosd = true\n'
    )


def osd_records(config: Config, camera: str, event: str) -> list[Record]:
    return [r for r in records(config, camera, "camera") if r.extra.get("event") == event]


def worker(gateway: Gateway, camera: str) -> CameraProcess:
    return next(w for w in gateway.workers if w.camera == camera)


def test_osd_is_set_signed_reapplied_after_reboot_and_a_refusal_does_not_stop_recording(
    cameras: tuple[tuple[RtspTestServer, OnvifDevice], ...], tmp_path: Path
) -> None:
    (server, device), (_, locked) = cameras
    extra = camera_toml("osd", device) + camera_toml("locked", locked)
    config = make_config(tmp_path, [], extra=extra)
    gateway = Gateway(config)
    gateway.start()
    try:
        # (1) set and read back on the camera, a signed record of it in the ledger
        wait_until("osd_applied", lambda: bool(osd_records(config, "osd", "osd_applied")), 60)
        shown = device.osd.snapshot()
        assert [(o.text_type, o.plain_text) for o in shown] == [
            ("DateAndTime", ""),
            ("Plain", SITE_TEXT),
        ]
        # (2) the refusing camera: reported, and it records on
        wait_until("osd_refused", lambda: bool(osd_records(config, "locked", "osd_refused")), 60)
        refused = osd_records(config, "locked", "osd_refused")[0]
        wait_until(
            "the refusing camera records",
            lambda: any(s.seq > refused.seq for s in records(config, "locked", "segment")),
            60,
        )
        health = worker(gateway, "locked").health.snapshot()
        assert (health.osd or "").startswith("refused: ") and "locked" in (health.osd or "")
        assert (worker(gateway, "osd").health.snapshot().osd or "").startswith("DateAndTime@")
        # (3) the camera reboots: its OSD is gone and its stream drops, then comes back
        server.kill()
        device.reboot()
        wait_until(
            "the outage is seen", lambda: not worker(gateway, "osd").health.snapshot().online
        )
        server.start()
        wait_until(
            "the OSD is set again",
            lambda: len(osd_records(config, "osd", "osd_applied")) == 2,
            60,
        )
        assert len(device.osd.snapshot()) == 2
        again = osd_records(config, "osd", "osd_applied")[1]
        wait_until(
            "a segment after the OSD is set again",
            lambda: any(r.seq > again.seq for r in records(config, "osd", "segment")),
            60,
        )
    finally:
        gateway.stop()

    applied = osd_records(config, "osd", "osd_applied")
    assert [r.extra["reapplied"] for r in applied] == [False, True]
    assert applied[0].sig and applied[0].reason == "osd_applied"
    assert applied[0].extra["text"] == SITE_TEXT
    assert len(osd_records(config, "locked", "osd_refused")) == 1, "one refusal, one record"
    pubkey = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "verify", str(config.gateway.data_dir), "--pubkey",
         str(pubkey)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"camera OSD set: DateAndTime at UpperLeft, Plain '{SITE_TEXT}' at LowerLeft" in (
        done.stdout
    )
    assert "camera OSD not set (camera refused)" in done.stdout

    # (4) an export across the reboot names the camera's OSD in its report
    before = [r for r in records(config, "osd", "segment") if r.seq < again.seq][-1]
    after = next(r for r in records(config, "osd", "segment") if r.seq > again.seq)
    out = tmp_path / "out"
    args = [
        "export", "--config", config.path, "--camera", "osd", "--from", before.start,
        "--to", after.end, "--identity", archive_identity(config), "--case", "c-1",
        "--out", out, "--operator", "tester",
    ]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    text = (out / "c-1" / "report.txt").read_text(encoding="utf-8")
    shown = show(again.start, named(config.gateway.timezone, CONFIG))  # the site's local time
    assert f"camera record {again.seq} at {shown}: " in text
    assert (
        "camera OSD set again (the camera had lost or changed it): DateAndTime at UpperLeft" in text
    )
