"""`event` records in words for `evgw verify` and export reports; hostile extra stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from segments.hashing import hash_file
from segments.ledger import read_checkpoints
from segments.package import ORIGINAL, make_proofs, original_name
from segments.package_report import camera_event_entries
from segments.records import Record
from segments.slice_check import check_slice
from segments.trust import TrustedKeys
from segments.verify import DirMediaSource, Verdict, verify
from segments.verify.camera_events import camera_notification
from tests.segments.sealed_stream import SIGNER, Stream

TAMPER = {
    "topic": "tns1:VideoSource/GlobalSceneChange/ImagingService",
    "kind": "tamper",
    "state": True,
    "source": {"VideoSourceConfigurationToken": "vsc0"},
    "camera_time": "2026-11-27T00:00:01.000000+00:00",
}


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


def test_event_records_are_listed_not_gaps_nor_time_regressions(tmp_path: Path) -> None:
    """An event arrives while a segment is open: its start lies before that segment's end."""
    s = Stream(tmp_path)
    s.start()
    s.segment()
    notified = s.t + 1.0  # during the next segment, appended before it is sealed
    s.ledger.append(s.draft("event", notified, None, reason="tamper", extra=TAMPER))
    s.segment()
    s.ledger.checkpoint()
    report = verify([("cam1", DirMediaSource(s.root))], trust=TrustedKeys.single(SIGNER.verifier()))
    assert report.verdict is Verdict.AUTHENTIC, report
    [row] = [f for f in report.streams[0].findings if f.kind == "event"]
    assert row.verdict == "OK" and row.detail.startswith("[V6] camera tamper tns1:VideoSource/")

    lines = s.lines()[2:]
    media = [r for r in map(Record.from_json, lines) if r.file]
    files = {f"{ORIGINAL}/{original_name(r)}": s.file(r) for r in media}
    checkpoint = read_checkpoints(s.root)[-1]
    proofs = {p.seq: p for p in make_proofs(s.lines(), range(2, 5), checkpoint.size)}
    check = check_slice(
        lines, verifier=SIGNER.verifier(), checkpoint=checkpoint, proofs=proofs,
        file_hash=lambda rel: hash_file(files[rel]) if rel in files else None,
        check_plain=False,
    )  # fmt: skip
    [found] = [f for f in check.findings if f.kind == "event"]
    assert found.verdict == "OK" and "camera tamper" in found.detail
    assert check.verdict is Verdict.AUTHENTIC, check
    [entry] = camera_event_entries(check)
    assert entry["seq"] == found.seq and entry["start"] == found.start
