"""`event` records in words for `evgw verify` and export reports; hostile extra stays bounded."""

from __future__ import annotations

from typing import Any

import pytest

from segments.records import Record
from segments.verify.camera_events import camera_notification


def event(extra: dict[str, Any]) -> Record:
    return Record(
        stream="cam", seq=5, kind="event", start="2026-01-01T00:00:00+00:00", end=None,
        gateway="gw", site="s", location="l", camera="cam", camera_name="cam", boot_id="b",
        reason="tamper", extra=extra,
    )  # fmt: skip


def test_an_event_in_words() -> None:
    text = camera_notification(event({
        "topic": "tns1:VideoSource/ImageTooDark/ImagingService", "kind": "tamper", "state": True,
        "source": {"VideoSourceConfigurationToken": "vsc0"}, "camera_time": "2026-01-01T00:00:00Z",
        "coalesced": 3,
    }))  # fmt: skip
    assert text == (
        "camera tamper tns1:VideoSource/ImageTooDark/ImagingService on "
        "[VideoSourceConfigurationToken=vsc0] (3 notifications) (camera time 2026-01-01T00:00:00Z)"
    )


@pytest.mark.parametrize(
    "extra",
    [{}, {"topic": 5, "kind": None, "state": "yes", "source": [1], "coalesced": True},
     {"topic": "x" * 100_000, "source": {str(i): "v" * 1000 for i in range(100)}}],
)  # fmt: skip
def test_hostile_extra_is_shown_bounded(extra: dict[str, Any]) -> None:
    assert len(camera_notification(event(extra))) < 500
