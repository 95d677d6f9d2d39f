"""A hardware encoder that cannot open: the camera records with libx264, signs why, and alarms.

There is no GPU here, and PyAV's FFmpeg has no VA-API encoder: `h264_vaapi` must fall back.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cameras.health import CameraHealth
from gateway.daemon.alarms import evaluate
from gateway.daemon.child_protocol import Health, encode, from_child
from gateway.daemon.lifecycle import Gateway
from segments.encoder_choice import EncoderChoice, encoder_access
from segments.plan import EncodeSettings
from testbeds.rtsp import RtspTestServer
from tests.gateway.daemon.test_alarms import CAMERA, GATEWAY
from tests.support.recording import Cam, make_config, records
from tests.support.waiting import wait_until


@pytest.mark.integration
def test_unavailable_encoder_falls_back_to_libx264_signed_and_alarmed(
    rtsp_server: RtspTestServer, tmp_path
) -> None:
    config = make_config(
        tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))], recording='encoder = "h264_vaapi"'
    )
    gateway = Gateway(config)
    gateway.start()
    try:

        def alarmed() -> bool:
            found = evaluate(gateway.facts())
            return any(a.alarm == "encoder_fallback" for a in found) and bool(
                records(config, "gate-1", "segment")
            )

        wait_until("the encoder_fallback alarm and a segment", alarmed, timeout=30)
        alarm = next(a for a in evaluate(gateway.facts()) if a.alarm == "encoder_fallback")
    finally:
        gateway.stop()
    assert alarm.camera == "gate-1"
    assert "h264_vaapi" in alarm.detail and "libx264" in alarm.detail
    (fallback,) = [r for r in records(config, "gate-1", "camera") if r.reason == "encoder_fallback"]
    assert fallback.extra["wanted"] == "h264_vaapi" and fallback.extra["used"] == "libx264"
    assert "not in this FFmpeg build" in str(fallback.extra["why"])
    segments = records(config, "gate-1", "segment")
    assert fallback.seq < segments[0].seq, "signed before the picture it made"
    assert all(s.media is not None and s.media.codec == "libx264" for s in segments)


def test_encoder_fallback_is_an_alarm_until_it_clears() -> None:
    detail = EncoderChoice("h264_nvenc", "libx264", "no device /dev/nvidia0").describe()
    fell_back = replace(CAMERA, encoder_fallback=detail)
    found = evaluate(replace(GATEWAY, cameras=(fell_back,)))
    assert [(a.alarm, a.camera, a.detail) for a in found] == [
        ("encoder_fallback", "gate-1", detail)
    ]
    assert evaluate(replace(GATEWAY, cameras=(CAMERA,))) == []
    health = CameraHealth("gate-1", True, 25, 25.0, 1e6, 0.04, 0, None, encoder_fallback=detail)
    message = Health(health, None, None)
    assert from_child(encode(message)) == message


def test_a_confined_camera_may_use_only_its_encoder_s_device(tmp_path) -> None:
    assert encoder_access(EncodeSettings()) == ([], [])
    node = tmp_path / "renderD129"
    node.touch()
    nodes, found_by = encoder_access(EncodeSettings(codec="h264_vaapi", device=str(node)))
    assert nodes == [node] and Path("/sys/dev/char") in found_by
    missing = EncodeSettings(codec="h264_vaapi", device=str(tmp_path / "none"))
    assert encoder_access(missing)[0] == []
