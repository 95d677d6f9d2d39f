"""The camera page in a real browser, from what a real gateway recorded and uploaded (issue 15,
Tests: "the camera timeline shows the gap with its reason").

`evgw run` records an RTSP test camera and uploads to SeaweedFS, into the bucket the desk's
archive reads. The camera is switched off until the gateway reports it offline, then on again:
the gateway seals, records a signed `gap(camera_offline)` when recording resumes, and uploads
it. `evgw archive sync` catalogues the records; the camera page then lists the gap with its
reason and marks it on the timeline, on a desktop and on a phone in Chinese.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from central.config import load_central_config
from gateway.cli.main import main
from gateway.config import Config
from segments.records import Record
from testbeds.mosquitto import MosquittoServer
from testbeds.rtsp import RtspTestServer
from testbeds.seaweedfs import SeaweedServer
from tests.browser.fleet import CAMERA, GATEWAY, HEALTH_INTERVAL_S, GatewayProcess
from tests.conftest import RtspServerFactory
from tests.support.browser import screenshot
from tests.support.browser_fixtures import PageFactory
from tests.support.desk import USERS, DeskServer, log_in
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.recording import Cam, make_config, records
from tests.support.seaweed import upload_section
from tests.support.waiting import wait_until
from uplink.object_keys import record_key
from uplink.objectstore import ObjectStore
from uplink.settings import MqttSettings

pytestmark = pytest.mark.integration

PAGE = f"/gateways/{GATEWAY}/cameras/{CAMERA}"
GAP_ROW = 'table#gaps tr[data-reason="camera_offline"]'
GAP_MARK = 'svg.timeline rect.tl-gap[data-reason="camera_offline"]'


def uploading_config(
    folder: Path, camera: RtspTestServer, broker: MosquittoServer, store: SeaweedServer, bucket: str
) -> Config:
    """`tests.browser.fleet.gateway_config` plus an [upload] to `bucket`."""
    mqtt = (
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f"health_interval_s = {HEALTH_INTERVAL_S}\nkeepalive_s = 5\n"
    )
    cam = Cam(CAMERA, camera.url("cam1"), overlay="passthrough")
    extra = mqtt + upload_section(store, bucket)
    return make_config(folder, [cam], extra=extra, gateway_id=GATEWAY)


def camera_online(probe: Probe, online: bool, gateway: GatewayProcess) -> None:
    """Until the gateway reports its camera `online` (and recording) or offline."""
    topic = f"evgw/{GATEWAY}/cameras/{CAMERA}/health"

    def reported(messages: list[tuple[str, bytes, bool]]) -> bool:
        assert gateway.running, f"evgw run ended:\n{gateway.log()}"
        for t, p, _ in reversed(messages):
            if t == topic:
                health = json.loads(p)
                return bool(health["online"] == online and (health["recording"] or not online))
        return False

    probe.wait_for(reported, 90)


def offline_gap(config: Config) -> Record | None:
    found = [g for g in records(config, CAMERA, "gap") if g.reason == "camera_offline"]
    return found[0] if found else None


@pytest.fixture
def camera(rtsp_server_factory: RtspServerFactory) -> RtspTestServer:
    return rtsp_server_factory(["cam1:320x240@25"])


@pytest.fixture
def gap_uploaded(
    desk_server: DeskServer,
    camera: RtspTestServer,
    mqtt_broker: MosquittoServer,
    seaweed: SeaweedServer,
    probe_factory: Callable[[MqttSettings, list[str]], Probe],
    tmp_path: Path,
) -> Iterator[Config]:
    """A gateway that recorded, lost its camera, recorded again, and uploaded the gap record
    to the desk archive's bucket; its device key enrolled in the archive's [trust]."""
    central = load_central_config(desk_server.config)
    config = uploading_config(
        tmp_path / "gateway", camera, mqtt_broker, seaweed, central.store.bucket
    )
    assert config.upload is not None
    store = ObjectStore(config.upload.store)
    store.ensure_bucket(object_lock=True)
    device_pub = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    shutil.copy(device_pub, desk_server.config.parent / "trusted" / f"{GATEWAY}.pub")
    probe = probe_factory(settings_for(mqtt_broker), [f"evgw/{GATEWAY}/#"])
    gateway = GatewayProcess(config).start()
    try:
        camera_online(probe, True, gateway)
        camera.stop()
        camera_online(probe, False, gateway)
        camera.start()
        camera_online(probe, True, gateway)
        wait_until("a signed camera_offline gap", lambda: offline_gap(config) is not None, 60)
        gap = offline_gap(config)
        assert gap is not None and gap.start_ts is not None
        key = record_key("测试检查站", GATEWAY, CAMERA, gap.seq, gap.start_ts)
        wait_until("the gap record uploaded", lambda: store.exists(key), 60)
        yield config
    finally:
        gateway.stop()
        print(f"--- evgw run ({gateway.log_path}):\n{gateway.log()[-8000:]}")


def archive_sync(config: Path) -> None:
    code = main(["archive", "sync", "--config", str(config)])
    assert code in (0, 1), f"evgw archive sync exited with {code}"  # 1: findings (pending media)


def test_the_camera_page_shows_the_outage_with_its_reason(
    desk_server: DeskServer, gap_uploaded: Config, open_page: PageFactory, tmp_path: Path
) -> None:
    archive_sync(desk_server.config)
    page: Page = open_page("camera")
    log_in(page, desk_server, USERS["viewer"])
    page.goto(desk_server.at(f"/gateways/{GATEWAY}"))
    page.locator(f'table#cameras tr[data-camera="{CAMERA}"] a').click()
    expect(page).to_have_url(desk_server.at(PAGE))
    row = page.locator(GAP_ROW)
    expect(row).to_have_count(1)
    expect(row.locator('td[data-field="reason"]')).to_have_text("camera offline")
    expect(page.locator(GAP_MARK)).to_be_visible()
    expect(page.locator('svg.timeline rect.tl-run[data-state="confirmed"]').first).to_be_visible()
    screenshot(page, tmp_path / "camera-timeline.png")

    phone = open_page("camera-phone", phone=True, locale="zh-CN")
    log_in(phone, desk_server, USERS["viewer"])
    phone.goto(desk_server.at(PAGE))
    expect(phone.locator(GAP_ROW).locator('td[data-field="reason"]')).to_have_text("摄像机离线")
    expect(phone.locator(GAP_MARK)).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.viewport_size["width"] + 1, f"the page is {width} px wide on a phone"  # type: ignore[index]
