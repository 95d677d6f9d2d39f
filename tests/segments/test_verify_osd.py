"""`evgw verify` reads a camera's OSD records in words, whatever their `extra` holds."""

from __future__ import annotations

from segments.records import ClockStatus, StreamIdentity
from segments.verify.ledger_checks import camera_event

IDENTITY = StreamIdentity("gw", "site", "gate", "cam", "cam", "boot")
CLOCK = ClockStatus(synced=True, est_error_s=0.01, source="test")


def detail(extra: dict[str, object]) -> str:
    draft = IDENTITY.draft(kind="camera", start=1e9, end=1e9, clock=CLOCK, extra=extra)
    return camera_event(draft)


def test_osd_records_read_sensibly() -> None:
    applied = {
        "event": "osd_applied",
        "osds": [
            {"token": "1", "type": "DateAndTime", "position": "UpperLeft"},
            {"token": "2", "type": "Plain", "position": "LowerLeft", "text": "一号卡口"},
        ],
        "refused": [],
    }
    assert detail(applied) == (
        "camera OSD set: DateAndTime at UpperLeft, Plain '一号卡口' at LowerLeft"
    )
    assert detail(applied | {"reapplied": True}).startswith(
        "camera OSD set again (the camera had lost"
    )
    refused = {"event": "osd_refused", "reason": "the camera refused: locked"}
    assert detail(refused) == "camera OSD not set (camera refused): the camera refused: locked"


def test_hostile_osd_extras_stay_bounded() -> None:
    odd = {"event": "osd_applied", "osds": [7, {"type": ["x"], "text": "t" * 999}] * 50}
    text = detail(odd | {"refused": ["a"]})
    assert text.startswith("camera OSD set: ? 'ttt") and text.endswith("; not set: 1 item(s)")
    assert len(text) < 1500
    assert detail({"event": "osd_applied", "osds": "no"}) == "camera OSD set: nothing"
    assert detail({"event": "osd_refused"}).endswith(": ?")
