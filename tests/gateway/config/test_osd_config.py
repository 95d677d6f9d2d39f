"""`osd`: on for passthrough cameras reached over ONVIF, refused where it cannot apply."""

from __future__ import annotations

from gateway.config import config_from_mapping
from tests.gateway.config.sample import FAKE, base, error_of

ONVIF = {"overlay": "passthrough"}


def onvif(n: int) -> str:
    return f"http://192.0.2.{n}/onvif/device_service"


def test_recording_osd_applies_to_passthrough_onvif_cameras_only() -> None:
    data = base()
    data["recording"] = {"osd": True}
    data["cameras"] = [
        {"id": "a", "onvif": onvif(1), **ONVIF},
        {"id": "b", "onvif": onvif(2), **ONVIF, "overlay": "burn_in"},
        {"id": "c", "rtsp": "rtsp://127.0.0.1:8554/cam1", "overlay": "passthrough"},
        {"id": "d", "onvif": onvif(4), **ONVIF, "osd": False},
    ]
    config = config_from_mapping(data, FAKE)
    assert [c.osd for c in config.cameras] == [True, False, False, False]
    data["recording"] = {}
    data["cameras"] = [{"id": "a", "onvif": onvif(1), **ONVIF, "osd": True}]
    assert config_from_mapping(data, FAKE).cameras[0].osd


def test_a_cameras_own_osd_must_fit() -> None:
    data = base()
    data["cameras"] = [{"id": "a", "rtsp": "rtsp://127.0.0.1:8554/x", "osd": True}]
    assert error_of(data).endswith(
        "cameras[0].osd: needs a camera set by onvif or serial: OSD is set over ONVIF"
    )
    data["cameras"] = [{"id": "a", "onvif": onvif(1), "overlay": "burn_in", "osd": True}]
    assert 'cameras[0].osd: applies to overlay = "passthrough"' in error_of(data)
