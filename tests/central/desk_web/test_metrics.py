"""/metrics: the fleet in Prometheus text, open to the allowed networks, a bearer token or a
logged-in user; hostile names cannot forge a line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.config import load_central_config
from central.desk.web.app import create_app
from central.desk.web.metrics import allowed

from .conftest import Clock, add_alarm, add_camera, add_gateway, desk_toml, log_in

LINE = re.compile(r'^[a-z_]+\{gateway="(?:[^"\\]|\\.)*"(?:,camera="(?:[^"\\]|\\.)*")?\} \S+$')


def _fleet(catalogue: Catalogue) -> None:
    health = {"upload": {"backlog_count": 4, "oldest_unconfirmed_age_s": 30.5}, "minutes_left": 900}
    add_gateway(catalogue, "gw-1", health=health)
    add_camera(catalogue, "gw-1", "gate-1", {"online": True, "recording": True, "fps": 25})
    add_camera(catalogue, "gw-1", "gate-2", {"online": False, "recording": False})
    add_alarm(catalogue, "gw-1", "gate-2")
    add_gateway(catalogue, 'evil"} 1\nevgw_gateway_up{gateway="x', state="offline")


def test_metrics_per_gateway_and_camera(tmp_path: Path, catalogue_url: URL) -> None:
    config = load_central_config(desk_toml(tmp_path, catalogue_url))
    catalogue = Catalogue.open(config.database)
    try:
        _fleet(catalogue)
        app = create_app(config, catalogue, clock=Clock())
        with TestClient(app, client=("127.0.0.1", 40000)) as client:
            answer = client.get("/metrics")
    finally:
        catalogue.close()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    for line in (
        'evgw_gateway_up{gateway="gw-1"} 1.0',
        'evgw_gateway_upload_backlog_count{gateway="gw-1"} 4',
        'evgw_gateway_oldest_unconfirmed_age_seconds{gateway="gw-1"} 30.5',
        'evgw_gateway_minutes_left{gateway="gw-1"} 900.0',
        'evgw_gateway_active_alarms{gateway="gw-1"} 1',
        'evgw_gateway_cameras_recording{gateway="gw-1"} 1',
        'evgw_camera_up{gateway="gw-1",camera="gate-1"} 1.0',
        'evgw_camera_up{gateway="gw-1",camera="gate-2"} 0.0',
        'evgw_camera_recording{gateway="gw-1",camera="gate-1"} 1.0',
        'evgw_camera_active_alarms{gateway="gw-1",camera="gate-2"} 1',
        'evgw_gateway_up{gateway="evil\\"} 1\\nevgw_gateway_up{gateway=\\"x"} 0.0',
    ):
        assert line in text.splitlines(), line
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(LINE.match(line) for line in samples), samples
    assert sum(line.startswith("evgw_gateway_up{") for line in samples) == 2


@pytest.mark.usefixtures("users")
def test_metrics_need_an_allowed_address_a_token_or_a_login(
    tmp_path: Path, catalogue_url: URL
) -> None:
    (tmp_path / "metrics.token").write_text("s3cret-token\n")
    desk = 'ingest = false\nmetrics_allow = ["10.0.0.0/8"]\nmetrics_token_file = "metrics.token"\n'
    config = load_central_config(desk_toml(tmp_path, catalogue_url, desk))
    catalogue = Catalogue.open(config.database)
    try:
        with TestClient(create_app(config, catalogue), client=("127.0.0.1", 1)) as client:
            assert client.get("/metrics").status_code == 403
            wrong = {"Authorization": "Bearer nope"}
            assert client.get("/metrics", headers=wrong).status_code == 403
            right = {"Authorization": "Bearer s3cret-token"}
            assert client.get("/metrics", headers=right).status_code == 200
            log_in(client, "vera")
            assert client.get("/metrics").status_code == 200
        with TestClient(create_app(config, catalogue), client=("10.1.2.3", 1)) as client:
            assert client.get("/metrics").status_code == 200
    finally:
        catalogue.close()


def test_allowed_networks() -> None:
    assert allowed("127.0.0.1", ["127.0.0.1/32"]) and allowed("::1", ["::1/128"])
    assert not allowed("127.0.0.2", ["127.0.0.1/32"]) and not allowed("testclient", ["0.0.0.0/0"])
