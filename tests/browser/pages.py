"""Where the desk's pages show things (the DOM markers of /work/notes/desk-contract.md)."""

from __future__ import annotations

import re

from playwright.sync_api import APIResponse, Locator, Page

from tests.support.desk import DeskServer


def fleet_row(page: Page, gateway: str) -> Locator:
    return page.locator(f'table#fleet tr[data-gateway="{gateway}"]')


def cell(row: Locator, name: str) -> Locator:
    return row.locator(f'td[data-field="{name}"]')


def ratio(recording: int, total: int) -> re.Pattern[str]:
    """The text of a `cameras` cell: recording/total."""
    return re.compile(rf"^\s*{recording}\s*/\s*{total}\s*$")


def alarm_selector(gateway: str, camera: str, alarm: str = "camera_offline") -> str:
    return (
        f'table#active-alarms tr[data-alarm="{alarm}"]'
        f'[data-gateway="{gateway}"][data-camera="{camera}"]'
    )


def alarm_row(page: Page, gateway: str, camera: str, alarm: str = "camera_offline") -> Locator:
    return page.locator(alarm_selector(gateway, camera, alarm))


def alarm_id(row: Locator) -> str:
    found = row.get_attribute("data-alarm-id")
    assert found, "an active alarm row without data-alarm-id"
    return found


def post_ack(
    page: Page,
    desk: DeskServer,
    alarm: str,
    csrf: str | None,
    *,
    comment: str = "checked",
    header: bool = False,
) -> APIResponse:
    """POST /alarms/<alarm>/ack with this page's session cookie, as a script could: the CSRF
    token `csrf` in the form (or the X-CSRF-Token header), None: no token at all."""
    form: dict[str, str | float | bool] = {"comment": comment}
    headers = {}
    if csrf is not None and header:
        headers["X-CSRF-Token"] = csrf
    elif csrf is not None:
        form["csrf"] = csrf
    return page.request.post(desk.at(f"/alarms/{alarm}/ack"), form=form, headers=headers)
