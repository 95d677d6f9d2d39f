"""Cameras found on the network but not configured: enrolled with defaults, or reported."""

from __future__ import annotations

import pytest

from cameras.onvif_client import DeviceInfo
from cameras.onvif_replies import MediaProfile
from gateway.config import Config, config_from_mapping
from gateway.daemon.enrollment import Enrollment, camera_id_for
from tests.gateway.config.sample import FAKE, base

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
