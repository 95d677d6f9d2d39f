"""The camera page as an investigator reads it, from catalogue rows sync would have written
and desk rows ingest would have: the timeline with each gap listed with its reason, segment
states, fps/bitrate plots, the camera's alarms and events, the viewer's window, Chinese."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_camera_samples, desk_events
from central.catalogue.schema import records
from segments.timeline import iso_utc

from .conftest import T0, add_alarm, add_camera, add_gateway, log_in
from .html_rows import row, rows

pytestmark = pytest.mark.usefixtures("users")

GW, CAM = "gw-a", "gate-1"
PAGE = f"/gateways/{GW}/cameras/{CAM}"
H = 3600.0


def add_records(catalogue: Catalogue, *entries: dict[str, Any], camera: str = CAM) -> None:
    """Catalogue rows for `entries` (kind, start, end as offsets from T0, media_state…)."""
    with catalogue.transaction() as tx:
        for seq, e in enumerate(entries):
            start, end = e.pop("start"), e.pop("end", None)
            tx.c.execute(
                insert(records).values(
                    gateway=GW,
                    stream=camera,
                    seq=seq,
                    start=iso_utc(T0 + start),
                    end=None if end is None else iso_utc(T0 + end),
                    leaf_hash="0" * 64,
                    record_hash=f"{seq:064x}",
                    prev="0" * 64,
                    object_key=f"k/{camera}/{seq}",
                    version_id="v",
                    uploaded_at=T0,
                    **{"media_state": "none", **e},
                )
            )


def seg(start: float, end: float, state: str = "ok") -> dict[str, Any]:
    return {"kind": "segment", "start": start, "end": end, "media_state": state}


def declared(kind: str, start: float, end: float, reason: str | None) -> dict[str, Any]:
    return {"kind": kind, "start": start, "end": end, "reason": reason}


def _camera_with_history(catalogue: Catalogue) -> None:
    add_gateway(catalogue, GW)
    add_camera(catalogue, GW, CAM, {"online": True, "recording": True, "fps": 25.0})
    add_records(
        catalogue,
        {"kind": "key", "start": -10 * H},
        seg(-10 * H, -9 * H),
        declared("gap", -9 * H, -8 * H, "camera_offline"),
        seg(-8 * H, -7 * H),
        seg(-6 * H, -5 * H, "missing"),  # an hour no record explains before it
        declared("boot", -5 * H, -4 * H, "power_loss"),
        seg(-4 * H, -3 * H, "pending"),
        declared("boot", -3 * H, -3 * H + 0.02, None),  # a quick restart: no hole
    )
    with catalogue.transaction() as tx:
        for i in range(5):
            tx.c.execute(
                insert(desk_camera_samples).values(
                    gateway=GW,
                    camera=CAM,
                    ts=T0 - 600 + 60 * i,
                    online=True,
                    recording=True,
                    fps=25.0 - i,
                    bitrate_bps=2e6,
                    last_frame_age_s=0.04,
                )
            )
        tx.c.execute(
            insert(desk_events).values(
                gateway=GW,
                camera=CAM,
                kind="segment_sealed",
                ts=T0 - 5,
                received_at=T0,
                body=json.dumps({"kind": "segment_sealed", "note": "<b>bold</b>"}),
            )
        )
    add_alarm(catalogue, GW, CAM, detail="end of stream")
    add_alarm(catalogue, GW, CAM, alarm="camera_frozen", since=T0 - 2 * H, cleared_at=T0 - H)
    add_alarm(catalogue, GW, "other-cam", alarm="camera_frozen")


def test_the_timeline_lists_each_gap_with_its_reason(
    client: TestClient, catalogue: Catalogue
) -> None:
    _camera_with_history(catalogue)
    log_in(client, "vera")
    html = client.get(PAGE).text
    gaps = {r.attrs["data-reason"]: r.cells for r in rows(html, "gaps")}
    assert set(gaps) == {"camera_offline", "undeclared", "power_loss"}
    offline = gaps["camera_offline"]
    assert offline["reason"] == "camera offline" and offline["duration"] == "60 min"
    assert offline["start"] == "2026-11-27 08:20:00Z"  # T0 - 9 h
    assert (
        gaps["undeclared"]["duration"] == "60 min" and gaps["power_loss"]["reason"] == "power loss"
    )
    assert '<svg class="timeline"' in html
    for state in ("confirmed", "missing", "waiting"):
        assert f'data-state="{state}"' in html
    assert 'rect class="tl-gap tl-declared tl-reason-camera_offline"' in html


def test_the_camera_page_has_plots_alarms_and_events(
    client: TestClient, catalogue: Catalogue
) -> None:
    _camera_with_history(catalogue)
    log_in(client, "vera")
    html = client.get(PAGE).text
    assert html.count('<svg class="plot"') == 2 and "Bitrate (kbit/s)" in html
    alarms = rows(html, "camera-alarms")
    assert [(a.attrs["data-alarm"], a.attrs["class"]) for a in alarms] == [
        ("camera_offline", "active"),
        ("camera_frozen", "cleared"),
    ]
    assert alarms[0].cells["cleared"] == "active"
    [event] = rows(html, "camera-events")
    assert event.attrs["data-kind"] == "segment_sealed"
    assert event.cells["detail"] == "note: <b>bold</b>"
    assert "&lt;b&gt;bold" in html
    gateway = client.get(f"/gateways/{GW}").text
    assert f'href="{PAGE}"' in gateway
    fragment = client.get(f"/fragments{PAGE}").text
    assert fragment.startswith('<div class="plots">') and 'id="camera-alarms"' in fragment
    assert 'id="gaps"' not in fragment  # the timeline changes with sync, not with reports


def test_the_window_is_the_viewers(client: TestClient, catalogue: Catalogue) -> None:
    _camera_with_history(catalogue)
    log_in(client, "vera")
    last_hours = client.get(PAGE, params={"hours": "6"}).text
    assert {r.attrs["data-reason"] for r in rows(last_hours, "gaps")} == {"power_loss"}
    night = client.get(PAGE, params={"hours": "2", "end": iso_utc(T0 - 7.5 * H)}).text
    assert {r.attrs["data-reason"] for r in rows(night, "gaps")} == {"camera_offline"}
    week = client.get(PAGE, params={"hours": "100000"}).text
    assert 'name="hours" type="number" min="1" max="168" value="168"' in week
    assert client.get(PAGE, params={"hours": "lots"}).status_code == 400
    bad_end = client.get(PAGE, params={"end": "yesterday"})
    assert bad_end.status_code == 400 and "ISO 8601" in bad_end.text


def test_a_gap_from_a_record_without_a_reason_shows_its_kind_and_hostile_reasons_are_text(
    client: TestClient, catalogue: Catalogue
) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    add_gateway(catalogue, GW)
    add_records(
        catalogue,
        seg(-3 * H, -2 * H),
        declared("boot", -2 * H, -1.5 * H, None),  # catalogued before v4, or a first boot
        declared("gap", -1.5 * H, -H, hostile),
        seg(-H, -0.5 * H, "mismatch"),
    )
    log_in(client, "vera")
    html = client.get(PAGE).text
    assert [r.attrs["data-reason"] for r in rows(html, "gaps")] == ["boot", hostile]
    assert row(html, "gaps", reason="boot").cells["reason"] == "gateway down"
    assert "<img" not in html and "&lt;img src=x" in html
    assert client.get(f"/fragments{PAGE}").status_code == 200  # known from the archive alone


def test_unknown_cameras_and_strangers(client: TestClient, catalogue: Catalogue) -> None:
    add_gateway(catalogue, GW)
    assert client.get(PAGE, follow_redirects=False).headers["location"] == "/login"
    assert client.get(f"/fragments{PAGE}").status_code == 401
    log_in(client, "vera")
    assert client.get(f"/gateways/{GW}/cameras/nobody").status_code == 404
    add_camera(catalogue, GW, "quiet", {"online": False})
    empty = client.get(f"/gateways/{GW}/cameras/quiet")
    assert empty.status_code == 200 and "no records in the archive" in empty.text
    assert [r.attrs for r in rows(empty.text, "gaps")] == []


def test_chinese_labels(client: TestClient, catalogue: Catalogue) -> None:
    _camera_with_history(catalogue)
    log_in(client, "vera")
    html = client.get(PAGE, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "录像时间线（最近 24 小时）" in html and "录像缺口" in html
    assert row(html, "gaps", reason="camera_offline").cells["reason"] == "摄像机离线"


def test_segment_states_follow_the_archive(client: TestClient, catalogue: Catalogue) -> None:
    """Evicted: a purge record names an uploaded segment; held: a hold record (not released
    by a release of the same span) covers it; purged: sync found it declared lost."""
    add_gateway(catalogue, GW)
    add_records(
        catalogue,
        seg(-4 * H, -3 * H),  # 0: evicted by the purge at seq 5
        seg(-3 * H, -2 * H),  # 1: held
        seg(-2 * H, -1 * H),  # 2: held, then released
        seg(-1 * H, -0.5 * H, "purged"),  # 3
        {"kind": "hold", "start": -3 * H, "end": -2 * H, "reason": "hold"},
        {"kind": "purge", "start": -0.4 * H, "purge_seq": 0},
        {"kind": "hold", "start": -2 * H, "end": -1 * H, "reason": "hold"},
        {"kind": "hold", "start": -2 * H, "end": -1 * H, "reason": "release"},
    )
    log_in(client, "vera")
    html = client.get(PAGE).text
    drawn = re.findall(r'<rect class="tl-run tl-(\w+)" data-state="\w+"', html)
    assert drawn == ["evicted", "held", "confirmed", "purged"]
    assert rows(html, "gaps") == []
