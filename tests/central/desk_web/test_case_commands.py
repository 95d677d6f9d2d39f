"""Legal hold, release and priority upload sent from the Cases page to a running gateway
over a real mosquitto, signed with the desk's operator key, on SQLite and PostgreSQL.

Attacks first: a viewer with its own CSRF token, a POST without one, an unknown action; then
a desk without an operator key. Nothing is published for any of them (a probe on the broker
sees no command). Then the real thing: the gateway obeys, the hold is in its signed ledger
under the desk's key id, the release ends it, a refused release is shown as refused, and
every command sent is in the audit log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_audit
from central.config import load_central_config
from central.desk.web.accounts import save_user
from central.desk.web.app import create_app
from segments.signing import Ed25519Signer, generate_signing_key
from testbeds.mosquitto import MosquittoServer
from tests.gateway.cli.test_command import ROOT, active_holds, gateway_config, iso, started
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.recording import records
from uplink.settings import MqttSettings

from .conftest import PASSWORD, desk_toml, log_in

pytestmark = pytest.mark.integration
ProbeFactory = Callable[[MqttSettings, list[str]], Probe]


def desk_app(folder: Path, database: URL, broker: MosquittoServer, key: Path | None) -> Any:
    lines = "ingest = false\n" + (f'operator_key = "{key}"\n' if key else "")
    lines += f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nkeepalive_s = 5\n'
    config = load_central_config(desk_toml(folder, database, lines))
    catalogue = Catalogue.open(config.database)
    for name, role in (("vera", "viewer"), ("ivan", "investigator")):
        save_user(catalogue, name, role, PASSWORD, time.time())
    return create_app(config, catalogue), catalogue


@pytest.fixture
def operator(tmp_path: Path) -> tuple[Path, Ed25519Signer]:
    path = tmp_path / "desk-operator.ed25519"
    return path, generate_signing_key(path)


@pytest.fixture
def desk(
    tmp_path: Path,
    catalogue_url: URL,
    mqtt_broker: MosquittoServer,
    operator: tuple[Path, Ed25519Signer],
) -> Iterator[tuple[Any, Catalogue]]:
    app, catalogue = desk_app(tmp_path, catalogue_url, mqtt_broker, operator[0])
    yield app, catalogue
    catalogue.close()


def window(**more: str) -> dict[str, str]:
    now = time.time()
    return {"gateway": "gw-test", "camera": "gate-1", "from": iso(now - 600),
            "to": iso(now + 60), **more}  # fmt: skip


def commands_seen(probe: Probe) -> list[str]:
    return [t for t, _, _ in probe.messages if not t.endswith("/result")]


def audited(catalogue: Catalogue) -> list[tuple[str, str, dict[str, Any]]]:
    query = select(desk_audit).where(desk_audit.c.action == "command").order_by(desk_audit.c.id)
    with catalogue.transaction() as tx:
        return [(r.user, r.target, json.loads(r.detail)) for r in tx.c.execute(query).all()]


def test_nobody_but_an_investigator_with_its_token_sends_a_command(
    desk: tuple[Any, Catalogue], mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    app, catalogue = desk
    probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/cmd/#"])
    viewer = TestClient(app)
    viewer_csrf = log_in(viewer, "vera")
    ivan = TestClient(app)
    csrf = log_in(ivan, "ivan")
    hold = window(action="hold", case="X-1")
    assert viewer.post("/cases/command", data={**hold, "csrf": viewer_csrf}).status_code == 403
    assert ivan.post("/cases/command", data=hold).status_code == 403
    assert ivan.post("/cases/command", data={**hold, "csrf": viewer_csrf}).status_code == 403
    for bad in ({"action": "rediscover"}, {"action": "hold", "case": "../x"},
                {"action": "release", "hold_id": "1; drop"},
                {"action": "hold", "case": "A", "gateway": "gw/x"}):  # fmt: skip
        assert ivan.post("/cases/command", data={**hold, **bad, "csrf": csrf}).status_code == 400
    assert commands_seen(probe) == [] and audited(catalogue) == []


def test_a_desk_without_an_operator_key_refuses_clearly(
    tmp_path: Path, catalogue_url: URL, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    app, catalogue = desk_app(tmp_path, catalogue_url, mqtt_broker, None)
    try:
        probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/cmd/#"])
        ivan = TestClient(app)
        csrf = log_in(ivan, "ivan")
        answer = ivan.post("/cases/command", data={**window(action="hold", case="A"), "csrf": csrf})
        assert answer.status_code == 400
        assert "no [desk] operator_key" in answer.text and "evgw keygen --operator" in answer.text
        assert commands_seen(probe) == []
    finally:
        catalogue.close()


def test_hold_priority_and_release_reach_the_gateway_signed_and_audited(
    desk: tuple[Any, Catalogue],
    operator: tuple[Path, Ed25519Signer],
    mqtt_broker: MosquittoServer,
    probe_factory: ProbeFactory,
    tmp_path: Path,
) -> None:
    app, catalogue = desk
    signer = operator[1]
    config = gateway_config(tmp_path / "gw", mqtt_broker, [signer.public_key_text()])
    probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/cmd/+/result"])
    ivan = TestClient(app)
    csrf = log_in(ivan, "ivan")
    gateway = started(config, probe)
    try:
        hold_form = {**window(action="hold", case="案-7"), "csrf": csrf}
        held = ivan.post("/cases/command", data=hold_form)
        assert held.status_code == 200, held.text
        assert 'data-ok="true"' in held.text
        ((hold_id, case),) = active_holds(config)
        assert case == "案-7" and f'data-field="hold_id">{hold_id}<' in held.text
        first = ivan.post("/cases/command", data={**window(action="upload-priority"), "csrf": csrf})
        assert first.status_code == 200 and 'data-ok="true"' in first.text, first.text
        unknown = {"action": "release", "gateway": "gw-test", "hold_id": "999", "csrf": csrf}
        refused = ivan.post("/cases/command", data=unknown)
        assert refused.status_code == 502 and "no active hold #999" in refused.text
        release = {**unknown, "hold_id": str(hold_id)}
        assert 'data-ok="true"' in ivan.post("/cases/command", data=release).text
    finally:
        gateway.stop()
    assert active_holds(config) == []
    hold, released = records(config, "gate-1", "hold")
    assert hold.extra["operator"] == signer.key_id and released.extra["operator"] == signer.key_id
    trail = audited(catalogue)
    assert [(u, t, d["ok"]) for u, t, d in trail] == [
        ("ivan", "gw-test hold", True),
        ("ivan", "gw-test upload-priority", True),
        ("ivan", "gw-test release", False),
        ("ivan", "gw-test release", True),
    ]
    assert trail[0][2]["nonce"] == hold.extra["nonce"] and trail[0][2]["key_id"] == signer.key_id
