"""The pages as a desk officer reads them, from rows ingest would have written: the fleet
(states, stale and offline marking, counts, search and sort), alarms with acknowledgement,
one gateway's cameras and plots, the audit log, and the Chinese labels."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_gateway_samples

from .conftest import T0, Clock, add_alarm, add_camera, add_gateway, log_in
from .html_rows import row, rows

pytestmark = pytest.mark.usefixtures("users")

HEALTH = {
    "ts": T0,
    "upload": {"backlog_count": 7, "oldest_unconfirmed_age_s": 120.0},
    "minutes_left": 5120.5,
    "clock": {"synced": True},
    "cameras_recording": 1,
    "cameras_total": 3,
    "site": "北京 检查站",
}


def _fleet(catalogue: Catalogue) -> None:
    add_gateway(catalogue, "gw-a", health=HEALTH)
    add_camera(catalogue, "gw-a", "gate-1", {"online": True, "recording": True, "fps": 25.0})
    add_camera(catalogue, "gw-a", "gate-2", {"online": False, "recording": False})
    add_gateway(catalogue, "gw-b", state="offline", last_seen=T0 - 5)
    add_gateway(catalogue, "gw-c", last_seen=T0 - 61)  # [desk] stale_after_s defaults to 60
    add_gateway(catalogue, "gw-d", health={"upload": "not an object", "minutes_left": "lots"})
    add_gateway(catalogue, "gw-e", health={"ts": T0})  # counts no cameras: the desk counts
    add_camera(catalogue, "gw-e", "c1", {"online": True, "recording": True})
    add_camera(catalogue, "gw-e", "c2", {"online": True, "recording": True}, last_seen=T0 - 61)
    add_alarm(catalogue, "gw-a", "gate-2")
    add_alarm(catalogue, "gw-a", "", alarm="disk_low", detail="5 % free")
    add_alarm(catalogue, "gw-a", "gate-1", cleared_at=T0 - 1)


def test_fleet_shows_each_gateway_with_its_state_and_numbers(
    client: TestClient, catalogue: Catalogue
) -> None:
    _fleet(catalogue)
    log_in(client, "vera")
    html = client.get("/").text
    a = row(html, "fleet", gateway="gw-a").cells
    assert a["state"] == "online" and a["cameras"] == "1/3" and a["backlog"] == "7"
    assert a["minutes-left"] == "5,120" and a["alarms"] == "2" and a["site"] == "北京 检查站"
    assert row(html, "fleet", gateway="gw-b").cells["state"] == "offline"
    assert row(html, "fleet", gateway="gw-c").cells["state"] == "stale"
    d = row(html, "fleet", gateway="gw-d").cells
    assert d["state"] == "online" and d["backlog"] == "–" and d["minutes-left"] == "–"
    assert d["cameras"] == "–/–" and d["alarms"] == "0"
    assert row(html, "fleet", gateway="gw-e").cells["cameras"] == "1/2"  # c2 is stale
    assert client.get("/fragments/fleet").text.lstrip().startswith('<table id="fleet"')
    assert 'id="fleet-search"' in html and 'data-stream="/events/stream"' in html


def test_fleet_goes_stale_as_time_passes(
    client: TestClient, catalogue: Catalogue, clock: Clock
) -> None:
    add_gateway(catalogue, "gw-a")
    log_in(client, "vera")
    assert row(client.get("/").text, "fleet", gateway="gw-a").cells["state"] == "online"
    clock.now += 61
    assert row(client.get("/").text, "fleet", gateway="gw-a").cells["state"] == "stale"


def test_fleet_search_and_sort(client: TestClient, catalogue: Catalogue) -> None:
    _fleet(catalogue)
    log_in(client, "vera")
    found = rows(client.get("/", params={"q": "北京"}).text, "fleet")
    assert [r.attrs["data-gateway"] for r in found] == ["gw-a"]
    by_state = rows(client.get("/", params={"sort": "state"}).text, "fleet")
    assert [r.attrs["data-gateway"] for r in by_state][:2] == ["gw-b", "gw-c"]
    by_alarms = rows(client.get("/fragments/fleet", params={"sort": "alarms"}).text, "fleet")
    assert by_alarms[0].attrs["data-gateway"] == "gw-a"


def test_alarms_are_acknowledged_once_with_who_when_and_comment(
    client: TestClient, catalogue: Catalogue, clock: Clock
) -> None:
    _fleet(catalogue)
    csrf = log_in(client, "ivan")
    html = client.get("/alarms").text
    active = rows(html, "active-alarms")
    assert {(r.attrs["data-alarm"], r.attrs["data-camera"]) for r in active} == {
        ("camera_offline", "gate-2"),
        ("disk_low", ""),
    }
    target = row(html, "active-alarms", alarm="camera_offline", gateway="gw-a", camera="gate-2")
    assert target.forms == ["ack-form"] and "acked-by" not in target.cells
    alarm_id = target.attrs["data-alarm-id"]
    assert [r.attrs["data-camera"] for r in rows(html, "alarm-history")] == ["gate-1"]
    clock.now += 10
    done = client.post(
        f"/alarms/{alarm_id}/ack",
        data={"comment": "摄像机断电，已通知现场", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/alarms"
    acked = row(client.get("/fragments/alarms").text, "active-alarms", alarm_id=alarm_id)
    assert (
        acked.cells["acked-by"] == "ivan" and acked.cells["ack-comment"] == "摄像机断电，已通知现场"
    )
    assert acked.forms == []
    again = client.post(f"/alarms/{alarm_id}/ack", data={"comment": "", "csrf": csrf})
    assert again.status_code == 409
    assert client.post("/alarms/99999/ack", data={"csrf": csrf}).status_code == 404
    too_long = client.post(f"/alarms/{alarm_id}/ack", data={"comment": "x" * 2001, "csrf": csrf})
    assert too_long.status_code == 400


def test_gateway_page_lists_its_cameras_and_plots_a_day(
    client: TestClient, catalogue: Catalogue
) -> None:
    _fleet(catalogue)
    with catalogue.transaction() as tx:
        for i in range(5):
            tx.c.execute(
                insert(desk_gateway_samples).values(
                    gateway="gw-a",
                    ts=T0 - 3600 + i * 60,
                    backlog_count=i,
                    minutes_left=5000.0,
                    disk_free_bytes=80_000_000_000,
                )
            )
    log_in(client, "vera")
    html = client.get("/gateways/gw-a").text
    assert [r.attrs["data-camera"] for r in rows(html, "cameras")] == ["gate-1", "gate-2"]
    gate2 = row(html, "cameras", camera="gate-2").cells
    assert gate2["state"] == "offline" and gate2["recording"] == "no" and gate2["alarms"] == "1"
    assert html.count("<svg") == 3 and html.count("<polyline") == 3
    empty = client.get("/gateways/gw-b").text
    assert empty.count("no samples yet") == 3
    assert client.get("/gateways/nobody").status_code == 404
    assert rows(client.get("/fragments/gateways/gw-a").text, "cameras")[0].cells["fps"] == "25.0"


def test_audit_page_is_for_admins(client: TestClient, catalogue: Catalogue) -> None:
    alarm = add_alarm(catalogue, "gw-a", "gate-1")
    csrf = log_in(client, "ada")
    client.post(f"/alarms/{alarm}/ack", data={"comment": "已通知 <b>", "csrf": csrf})
    html = client.get("/audit").text
    log = rows(html, "audit")
    assert [r.cells["action"] for r in log] == ["ack", "login", "useradd", "useradd", "useradd"]
    assert log[0].cells["user"] == "ada" and "comment: 已通知 <b>" in log[0].cells["detail"]
    assert log[0].cells["target"] == f"alarm {alarm}: camera_offline gw-a/gate-1"
    assert log[-1].cells["address"] == "cli" and log[-1].cells["detail"] == "role: viewer"
    assert 'href="/audit"' in html


def test_chinese_labels_by_accept_language(client: TestClient, catalogue: Catalogue) -> None:
    add_gateway(catalogue, "网关-1", state="offline")
    log_in(client, "vera")
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).text
    assert "设备总览" in zh and '<html lang="zh-CN">' in zh
    assert row(zh, "fleet", gateway="网关-1").cells["state"] == "离线"
    en = client.get("/", headers={"Accept-Language": "en-US,zh;q=0.5"}).text
    assert "Fleet" in en and row(en, "fleet", gateway="网关-1").cells["state"] == "offline"
