"""A hardware encoder that cannot open: the camera records with libx264, signs why, and alarms.

There is no GPU here, and PyAV's FFmpeg has no VA-API encoder: `h264_vaapi` must fall back.
"""

from __future__ import annotations

import pytest

from gateway.daemon.alarms import evaluate
from gateway.daemon.lifecycle import Gateway
from testbeds.rtsp import RtspTestServer
from tests.support.recording import Cam, make_config, records
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


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
