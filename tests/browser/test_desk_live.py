"""The desk in a real browser, watching a real recording gateway (issue 15, Tests).

`evgw run` records an RTSP test camera and reports to the test's mosquitto every second; the
desk (`evgw desk`, ingest in the same process) listens to the same broker. A person logs in,
sees the gateway on the fleet page, keeps the alarms page open while the camera is switched
off, sees the camera_offline alarm arrive without reloading, and acknowledges it; the admin
finds the login and the acknowledgement in the audit log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from testbeds.mosquitto import MosquittoServer
from testbeds.rtsp import RtspTestServer
from tests.browser.fleet import CAMERA, GATEWAY, GatewayProcess, gateway_config, wait_recording
from tests.browser.pages import alarm_row, alarm_selector, cell, fleet_row, ratio
from tests.conftest import RtspServerFactory
from tests.support.browser import (
    Console,
    Navigations,
    document_marked,
    first_seen_s,
    mark_document,
    record_first_match,
    screenshot,
)
from tests.support.browser_fixtures import PageFactory
from tests.support.desk import USERS, DeskServer, log_in
from tests.support.mqtt_fixtures import Probe, settings_for
from uplink.settings import MqttSettings

pytestmark = pytest.mark.integration

ALARM_WITHIN_S = 10.0
"""The issue's bound from switching the camera off to the alarm on the open page. The chain
is: the stream ends (at once), the gateway's next report (HEALTH_INTERVAL_S = 1 s) raises
camera_offline, ingest stores it, the desk's event stream checks for changes each second and
the page fetches the alarms fragment: about 3 s when idle. The bound is asserted as it is;
the wait itself is longer (ALARM_WAIT_MS) so that a slow run reports how slow it was."""
ALARM_WAIT_MS = 20_000
COMMENT = "摄像机断电，已通知维修"


@pytest.fixture
def camera(rtsp_server_factory: RtspServerFactory) -> RtspTestServer:
    return rtsp_server_factory(["cam1:320x240@25"])


@pytest.fixture
def recording_gateway(
    camera: RtspTestServer,
    mqtt_broker: MosquittoServer,
    probe_factory: Callable[[MqttSettings, list[str]], Probe],
    tmp_path: Path,
) -> Iterator[GatewayProcess]:
    """`evgw run` recording `camera`, once it reports the camera recording."""
    config = gateway_config(tmp_path / "gateway", camera, mqtt_broker)
    probe = probe_factory(settings_for(mqtt_broker), [f"evgw/{GATEWAY}/#"])
    gateway = GatewayProcess(config).start()
    try:
        wait_recording(probe, gateway)
        yield gateway
    finally:
        gateway.stop()
        print(f"--- evgw run ({gateway.log_path}):\n{gateway.log()[-8000:]}")


def test_log_in_and_the_fleet_shows_the_recording_gateway(
    desk_server: DeskServer, recording_gateway: GatewayProcess, page: Page, console: Console
) -> None:
    console.expect(r"status of 4\d\d .* at \S+/login$")  # the wrong password's answer
    page.goto(desk_server.at("/login"))
    page.locator('#login input[name="name"]').fill(USERS["investigator"].name)
    page.locator('#login input[name="password"]').fill("not the password")
    page.locator("#login-submit").click()
    expect(page.locator(".error").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login\b"))

    log_in(page, desk_server, USERS["investigator"])
    page.goto(desk_server.at("/"))
    row = fleet_row(page, GATEWAY)
    expect(cell(row, "state")).to_have_text("online")
    expect(cell(row, "cameras")).to_have_text(ratio(1, 1))

    page.goto(desk_server.at(f"/gateways/{GATEWAY}"))
    expect(page.locator(f'table#cameras tr[data-camera="{CAMERA}"]')).to_be_visible()


def test_a_switched_off_camera_is_alarmed_on_the_open_page_and_acknowledged(
    desk_server: DeskServer,
    camera: RtspTestServer,
    recording_gateway: GatewayProcess,
    open_page: PageFactory,
    tmp_path: Path,
) -> None:
    investigator = USERS["investigator"]
    page = open_page("alarms")
    log_in(page, desk_server, investigator)
    page.goto(desk_server.at("/alarms"))
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    expect(page.locator("table#active-alarms")).to_be_attached()
    row = alarm_row(page, GATEWAY, CAMERA)
    expect(row).to_have_count(0)
    navigations, document = Navigations(page), mark_document(page)
    record_first_match(page, alarm_selector(GATEWAY, CAMERA))

    stopped = time.time()  # from the moment we begin to stop it: the strict reading
    camera.stop()
    expect(row).to_be_visible(timeout=ALARM_WAIT_MS)
    appeared = first_seen_s(page)
    assert appeared is not None
    screenshot(page, tmp_path / "alarm-arrived.png")
    print(f"camera_offline shown {appeared - stopped:.2f} s after the camera stopped")
    assert appeared - stopped <= ALARM_WITHIN_S, f"alarm shown {appeared - stopped:.1f} s after"
    assert navigations.count == 0, "the page was reloaded or left"
    assert document_marked(page, document), "the page is not the one that was open"
    expect(page.locator("body")).to_have_attribute("data-live", "connected")

    row.locator('textarea[name="comment"]').fill(COMMENT)
    row.locator(".ack").click()
    expect(alarm_row(page, GATEWAY, CAMERA).locator('td[data-field="acked-by"]')).to_contain_text(
        investigator.name
    )

    admin = open_page("audit")
    log_in(admin, desk_server, USERS["admin"])
    admin.goto(desk_server.at("/audit"))
    by_investigator = admin.locator("table#audit tr").filter(has_text=investigator.name)
    expect(by_investigator.filter(has_text=re.compile(r"log ?in", re.I)).first).to_be_visible()
    acks = by_investigator.filter(has_text=re.compile(r"ack", re.I)).filter(has_text=COMMENT)
    expect(acks.first).to_be_visible()
