"""A camera that signs its video, through RTSP and passthrough recording in camera processes."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from gateway.cli.main import main
from gateway.daemon.alarms import GatewayFacts, evaluate
from gateway.daemon.events import EventRouter
from gateway.daemon.lifecycle import Gateway
from gateway.wiring import gateway_keys
from segments.camera_signing import CERT_SHA256, SIGNED
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer
from testbeds.signed_stream import FAKE_CHAIN, SignedStream, signed_stream, signing_nals
from tests.support.recording import (
    Cam,
    archive_identity,
    decrypted,
    make_config,
    record_until,
    records,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.multicast]

CHAIN_SHA256 = hashlib.sha256(FAKE_CHAIN).hexdigest()


@dataclass(frozen=True)
class SigningCamera:
    server: RtspTestServer
    signed: SignedStream  # 2 s looped, every access unit signed, a certificate SEI first
    lapsing: SignedStream  # 6 s looped: signed for 3 s, then not


@pytest.fixture
def camera(_gst_rtsp: None, tmp_path: Path) -> Iterator[SigningCamera]:
    signed, lapsing = signed_stream(seconds=2), signed_stream(seconds=6, unsigned_from=3)
    mounts = [
        f"signed:{signed.write(tmp_path / 'signed.h264')}@{signed.fps}",
        f"lapsing:{lapsing.write(tmp_path / 'lapsing.h264')}@{lapsing.fps}",
    ]
    server = RtspTestServer(find_free_port(), [], file_mounts=mounts).start()
    yield SigningCamera(server, signed, lapsing)
    server.stop()


def test_signing_seis_come_out_of_passthrough_identical_and_in_order(
    camera: SigningCamera, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over real SOAP and RTSP: the emulated ONVIF camera names the signed mount."""
    profiles = default_profiles(camera.server.url("signed"))
    device = OnvifDevice(DeviceConfig(profiles, serial="SN-SIGNED"), discovery=False).start()
    try:
        config = make_config(tmp_path, [], extra=onvif_camera("store-1", device.xaddr))
        record_until(config, "store-1", segments=3)
    finally:
        device.stop()
    segs = records(config, "store-1", "segment")
    sent = camera.signed.seis
    runs = [[]]  # SEIs of segments recorded without a gap between them (one connection)
    for r in records(config, "store-1")[3:]:
        if r.kind == "gap":
            runs.append([])
        elif r.kind == "segment":
            with av.open(str(decrypted(config, r))) as c:
                for p in c.demux(video=0):
                    runs[-1] += signing_nals(bytes(p), length_prefixed=True)
    for recorded in filter(None, runs):
        first = sent.index(recorded[0])
        assert recorded == [sent[(first + i) % len(sent)] for i in range(len(recorded))]
    assert any(sent[0] in recorded for recorded in runs), "the certificate SEI came through"
    assert all(r.extra[SIGNED] is True for r in segs)
    certs = {r.extra.get(CERT_SHA256) for r in segs}
    assert CHAIN_SHA256 in certs and certs <= {CHAIN_SHA256, None}
    assert all(r.camera_serial == "SN-SIGNED" for r in segs)
    pubkey = gateway_keys(config).signer.public_key_text()
    assert main(["verify", str(config.gateway.data_dir), "--pubkey", pubkey]) == 0
    shown = capsys.readouterr().out
    assert "camera signatures: the camera's own claim" in shown
    assert "evgw does not verify the camera's signature" in shown
    assert f"signed by the camera; certificate chain sha256 {CHAIN_SHA256}" in shown
    package = tmp_path / "exports" / "C-7"
    export = ["export", "--config", config.path, "--camera", "store-1", "--from", segs[0].start,
              "--to", segs[-1].end, "--identity", archive_identity(config), "--case", "C-7",
              "--out", package.parent, "--operator", "officer"]  # fmt: skip
    assert main([str(a) for a in export]) == 0
    entries = json.loads((package / "report.json").read_text(encoding="utf-8"))["segments"]
    assert entries and all(e[SIGNED] is True for e in entries)
    assert CHAIN_SHA256 in {e[CERT_SHA256] for e in entries}
    assert "evgw does not verify the camera's signature" in (package / "report.txt").read_text()
    (derived,) = (package / "derived").glob("*.mp4")
    with av.open(str(derived)) as c:
        kept = [n for p in c.demux(video=0) for n in signing_nals(bytes(p), length_prefixed=True)]
    assert len(kept) > len(sent) and set(kept) <= set(sent), "the derived copy keeps them too"


def onvif_camera(camera_id: str, xaddr: str) -> str:
    return (
        f'[[cameras]]\nid = "{camera_id}"\nname = "{camera_id}"\nonvif = "{xaddr}"\n'
        'overlay = "passthrough"\n'
    )


def test_a_camera_that_stops_signing_raises_the_alarm_until_it_signs_again(
    camera: SigningCamera, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = camera.server.url("lapsing")
    config = make_config(tmp_path, [Cam("store-1", url, "passthrough")], segment_seconds=1)
    events: list[tuple[str, dict[str, Any]]] = []
    emit = EventRouter.emit

    def heard(router: EventRouter, kind: str, **fields: Any) -> None:  # what MQTT would carry
        events.append((kind, fields))
        emit(router, kind, **fields)

    monkeypatch.setattr(EventRouter, "emit", heard)
    gateway = Gateway(config)

    seen: list[GatewayFacts] = []

    def alarmed() -> bool:
        seen.append(gateway.facts())
        return any(a.alarm == "camera_signing_lost" for a in evaluate(seen[-1]))

    gateway.start()
    try:
        wait_until("camera_signing_lost raised", alarmed, timeout=30)
        health = seen[-1].cameras[0]  # what cameras/<id>/health carries over MQTT
        assert health.signing_lost and health.camera_signed is False
        wait_until("camera_signing_lost cleared", lambda: not alarmed(), timeout=30)
    finally:
        gateway.stop()
    kinds = [k for k, _ in events if k.startswith("camera_signing")]
    assert kinds[:2] == ["camera_signing_lost", "camera_signing_resumed"]
    claims = [r.extra[SIGNED] for r in records(config, "store-1", "segment")]
    assert any(a and not b for a, b in itertools.pairwise(claims))
