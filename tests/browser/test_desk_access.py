"""The desk's refusals, tried from a logged-in browser, and the fleet page on a phone.

The fleet is simulated gateways on the test's mosquitto (the gateway's own link and reporter,
one report each); one has a camera offline, so the alarms page has a camera_offline to act on.
The attacks are requests a script in the browser could send with the session's cookie: a
viewer acknowledging with its own valid CSRF token, a POST with no token, with a made-up one,
and with another session's token. Each must be 403 and change nothing; the same request with
the right role and token is accepted, so the refusals are about role and token, not the URL.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from testbeds.mosquitto import MosquittoServer
from tests.browser.fleet import simulated_gateway
from tests.browser.pages import alarm_id, alarm_row, cell, fleet_row, post_ack, ratio
from tests.support.browser import horizontal_overflow_px
from tests.support.browser_fixtures import PageFactory
from tests.support.desk import USERS, DeskServer, csrf_token, log_in

pytestmark = pytest.mark.integration

GATEWAY = "gw-post-01"
CAMERA = "gate-1"
FORBIDDEN = 403


def open_alarm(page: Page, desk: DeskServer) -> str:
    """The id of the simulated gateway's camera_offline, once the alarms page shows it."""
    page.goto(desk.at("/alarms"))
    row = alarm_row(page, GATEWAY, CAMERA)
    expect(row).to_be_visible()
    return alarm_id(row)


def acked_by(page: Page, desk: DeskServer) -> str:
    """Who acknowledged the alarm, as the alarms page shows it now ('' for nobody)."""
    page.goto(desk.at("/alarms"))
    row = alarm_row(page, GATEWAY, CAMERA)
    expect(row).to_be_visible()
    return " ".join(row.locator('td[data-field="acked-by"]').all_inner_texts()).strip()


def test_a_viewer_cannot_acknowledge_even_with_its_own_csrf_token(
    desk_server: DeskServer, mqtt_broker: MosquittoServer, open_page: PageFactory
) -> None:
    viewer, investigator = USERS["viewer"], USERS["investigator"]
    with simulated_gateway(mqtt_broker, GATEWAY, {CAMERA: False, "yard": True}):
        page = open_page("viewer")
        log_in(page, desk_server, viewer)
        alarm = open_alarm(page, desk_server)
        token = csrf_token(page)
        assert post_ack(page, desk_server, alarm, token).status == FORBIDDEN
        assert post_ack(page, desk_server, alarm, token, header=True).status == FORBIDDEN
        assert viewer.name not in acked_by(page, desk_server)

        other = open_page("investigator")
        log_in(other, desk_server, investigator)
        open_alarm(other, desk_server)
        accepted = post_ack(other, desk_server, alarm, csrf_token(other))
        assert accepted.ok, f"{accepted.status} {accepted.text()[:500]}"
        assert investigator.name in acked_by(page, desk_server)


def test_a_post_without_the_sessions_csrf_token_is_refused(
    desk_server: DeskServer, mqtt_broker: MosquittoServer, open_page: PageFactory
) -> None:
    investigator = USERS["investigator"]
    with simulated_gateway(mqtt_broker, GATEWAY, {CAMERA: False}):
        page = open_page("investigator")
        log_in(page, desk_server, investigator)
        alarm = open_alarm(page, desk_server)
        token = csrf_token(page)

        someone_else = open_page("admin")
        log_in(someone_else, desk_server, USERS["admin"])
        open_alarm(someone_else, desk_server)
        foreign = csrf_token(someone_else)
        assert foreign != token

        for wrong in (None, "", "0" * len(token), foreign):
            refused = post_ack(page, desk_server, alarm, wrong)
            assert refused.status == FORBIDDEN, f"token {wrong!r}: {refused.status}"
        assert investigator.name not in acked_by(page, desk_server)
        assert page.request.post(desk_server.at("/logout")).status == FORBIDDEN
        page.goto(desk_server.at("/alarms"))
        expect(page).not_to_have_url(re.compile(r"/login\b"))  # still logged in

        accepted = post_ack(page, desk_server, alarm, token)
        assert accepted.ok, f"{accepted.status} {accepted.text()[:500]}"
        assert investigator.name in acked_by(page, desk_server)


def test_the_fleet_page_fits_a_phone(
    desk_server: DeskServer, mqtt_broker: MosquittoServer, phone_page: Page
) -> None:
    """At 390 CSS pixels, in Chinese, the page is laid out for the phone (no 980 px desktop
    viewport), nothing makes the page scroll sideways, and each row's state can be brought on
    screen (a wide table may scroll inside its own box, not the page); the search narrows it."""
    long_name = "gw-yangtze-river-bridge-north-approach-inspection-post-0042"
    with (
        simulated_gateway(mqtt_broker, GATEWAY, {CAMERA: False, "yard": True}),
        simulated_gateway(mqtt_broker, long_name, {"lane-1": True, "lane-2": True}),
    ):
        log_in(phone_page, desk_server, USERS["admin"])
        phone_page.goto(desk_server.at("/"))
        for gateway, cameras in ((GATEWAY, ratio(1, 2)), (long_name, ratio(2, 2))):
            row = fleet_row(phone_page, gateway)
            expect(cell(row, "cameras")).to_have_text(cameras)
        assert phone_page.evaluate("innerWidth") == 390
        assert horizontal_overflow_px(phone_page) <= 0
        for gateway in (GATEWAY, long_name):
            box = scrolled_into_view(phone_page, f'table#fleet tr[data-gateway="{gateway}"] '
                                     'td[data-field="state"]')  # fmt: skip
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            assert horizontal_overflow_px(phone_page) <= 0

        phone_page.locator("#fleet-search").fill("yangtze")
        expect(fleet_row(phone_page, long_name)).to_be_visible()
        expect(fleet_row(phone_page, GATEWAY)).to_be_hidden()


def scrolled_into_view(page: Page, selector: str) -> dict[str, float]:
    """Scroll the element into view and read its box in one script: the live refresh may swap
    the table between two separate steps (a detached element), never inside one task."""
    box: dict[str, float] = page.evaluate(
        """selector => {
            const el = document.querySelector(selector);
            el.scrollIntoView({block: "nearest", inline: "nearest"});
            const r = el.getBoundingClientRect();
            return {x: r.x, y: r.y, width: r.width, height: r.height};
        }""",
        selector,
    )
    return box
