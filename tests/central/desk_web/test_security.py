"""The attacks on the desk, each as a test: forged POSTs, a viewer acting, stolen or expired
sessions, password guessing, and markup or SQL arriving as fleet names over MQTT."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_alarms, desk_audit, desk_sessions
from central.config.load import CentralConfig
from central.desk.web.app import create_app

from .conftest import (
    PASSWORD,
    Clock,
    add_alarm,
    add_camera,
    add_gateway,
    log_in,
    login_form_token,
)

pytestmark = pytest.mark.usefixtures("users")


def _audit(catalogue: Catalogue) -> list[tuple[str, str, str]]:
    with catalogue.transaction() as tx:
        rows = tx.c.execute(select(desk_audit).order_by(desk_audit.c.id)).all()
    return [(r.user, r.action, r.target) for r in rows]


def _acked_by(catalogue: Catalogue, alarm_id: int) -> str | None:
    with catalogue.transaction() as tx:
        by: str | None = tx.c.scalar(
            select(desk_alarms.c.acked_by).where(desk_alarms.c.id == alarm_id)
        )
    return by


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/", "/alarms", "/gateways/gw-1", "/audit"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    for path in ("/fragments/fleet", "/fragments/alarms", "/events/stream"):
        assert client.get(path).status_code == 401
    assert client.post("/alarms/1/ack", data={"comment": "x"}).status_code == 403


def test_post_without_or_with_a_wrong_csrf_token_is_refused(
    client: TestClient, catalogue: Catalogue
) -> None:
    alarm = add_alarm(catalogue, "gw-1", "gate-1")
    csrf = log_in(client, "ivan")
    assert client.post(f"/alarms/{alarm}/ack", data={"comment": "x"}).status_code == 403
    wrong = {"comment": "x", "csrf": "0" * 64}
    assert client.post(f"/alarms/{alarm}/ack", data=wrong).status_code == 403
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    assert _acked_by(catalogue, alarm) is None
    by_header = client.post(
        f"/alarms/{alarm}/ack",
        data={"comment": "seen"},
        headers={"X-CSRF-Token": csrf},
        follow_redirects=False,
    )
    assert by_header.status_code == 303
    assert _acked_by(catalogue, alarm) == "ivan"


def test_a_login_form_from_elsewhere_is_refused(client: TestClient) -> None:
    login_form_token(client)
    forged = {"name": "ivan", "password": PASSWORD, "csrf": "f" * 64}
    assert client.post("/login", data=forged).status_code == 403
    client.cookies.clear()
    assert client.post("/login", data={**forged, "csrf": ""}).status_code == 403


def test_a_viewer_cannot_acknowledge_or_read_the_audit(
    client: TestClient, catalogue: Catalogue
) -> None:
    alarm = add_alarm(catalogue, "gw-1", "gate-1")
    csrf = log_in(client, "vera")
    refused = client.post(f"/alarms/{alarm}/ack", data={"comment": "x", "csrf": csrf})
    assert refused.status_code == 403 and "viewer" in refused.text
    assert _acked_by(catalogue, alarm) is None
    assert client.get("/audit").status_code == 403
    assert client.get("/alarms").status_code == 200


def test_session_cookie_flags_and_only_its_hash_is_stored(
    client: TestClient, catalogue: Catalogue
) -> None:
    token = login_form_token(client)
    done = client.post(
        "/login", data={"name": "ada", "password": PASSWORD, "csrf": token}, follow_redirects=False
    )
    cookie = next(v for v in done.headers.get_list("set-cookie") if v.startswith("desk_session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "secure" not in flags
    value = cookie.split(";")[0].split("=", 1)[1]
    with catalogue.transaction() as tx:
        stored = tx.c.execute(select(desk_sessions.c.token_sha256)).scalars().all()
    assert stored == [hashlib.sha256(value.encode()).hexdigest()]


def test_cookies_are_secure_when_the_desk_serves_tls(
    config: CentralConfig, catalogue: Catalogue, clock: Clock
) -> None:
    assert config.desk is not None
    tls = config.desk.__class__(
        **{**vars(config.desk), "tls_cert": config.path, "tls_key": config.path}
    )
    app = create_app(config.__class__(**{**vars(config), "desk": tls}), catalogue, clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        token = login_form_token(client)
        done = client.post(
            "/login",
            data={"name": "ada", "password": PASSWORD, "csrf": token},
            follow_redirects=False,
        )
        cookie = next(v for v in done.headers.get_list("set-cookie") if "desk_session=" in v)
        assert "secure" in cookie.lower()
        assert "max-age=31536000" in done.headers["strict-transport-security"]


def test_an_expired_session_is_a_logged_out_one(client: TestClient, clock: Clock) -> None:
    log_in(client, "vera")
    assert client.get("/").status_code == 200
    clock.now += 12 * 3600 + 1  # [desk] session_hours defaults to 12
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    csrf = log_in(client, "vera")
    stolen = client.cookies.get("desk_session")
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("desk_session", stolen or "")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_password_guessing_is_limited_per_address(
    client: TestClient, catalogue: Catalogue, clock: Clock
) -> None:
    for _ in range(5):
        token = login_form_token(client)
        wrong = client.post("/login", data={"name": "ada", "password": "guess", "csrf": token})
        assert wrong.status_code == 401 and 'class="error"' in wrong.text
    token = login_form_token(client)
    right = {"name": "ada", "password": PASSWORD, "csrf": token}
    limited = client.post("/login", data=right)
    assert limited.status_code == 429
    assert "Too many failed logins" in limited.text and int(limited.headers["retry-after"]) > 0
    clock.now += 61
    right["csrf"] = login_form_token(client)  # each form answer brings a new login token
    assert client.post("/login", data=right, follow_redirects=False).status_code == 303
    actions = [a for _, a, _ in _audit(catalogue)]
    assert actions.count("login_failed") == 5 and actions[-1] == "login"


def test_unknown_user_and_wrong_password_look_the_same(client: TestClient) -> None:
    token = login_form_token(client)
    unknown = client.post("/login", data={"name": "mallory", "password": "x", "csrf": token})
    token = login_form_token(client)
    wrong = client.post("/login", data={"name": "ada", "password": "x", "csrf": token})
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong name or password." in unknown.text and "Wrong name or password." in wrong.text


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_markup_from_mqtt_is_shown_as_text(client: TestClient, catalogue: Catalogue) -> None:
    add_gateway(catalogue, HOSTILE, health={"site": HOSTILE})
    add_camera(catalogue, HOSTILE, HOSTILE, {"online": True, "last_error": HOSTILE})
    add_alarm(catalogue, HOSTILE, HOSTILE, detail=HOSTILE)
    log_in(client, "ivan")
    for path in ("/", "/fragments/fleet", "/alarms", "/fragments/alarms"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    page = client.get("/gateways/" + HOSTILE.replace("/", ""))
    assert page.status_code == 404
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_sql_looking_names_are_just_names(client: TestClient, catalogue: Catalogue) -> None:
    name = "gw'; DROP TABLE desk_gateways; --"
    add_gateway(catalogue, name)
    add_gateway(catalogue, "gw-2")
    alarm = add_alarm(catalogue, name, "cam' OR '1'='1")
    csrf = log_in(client, "ivan")
    fleet = client.get("/", params={"q": "' OR 1=1 --"}).text
    assert 'data-gateway="gw-2"' not in fleet
    page = client.get("/gateways/" + name)
    assert page.status_code == 200 and "DROP TABLE" in page.text
    comment = "'); DELETE FROM desk_audit; --"
    client.post(f"/alarms/{alarm}/ack", data={"comment": comment, "csrf": csrf})
    assert 'data-gateway="gw-2"' in client.get("/").text
    assert ("ivan", "ack", f"alarm {alarm}: camera_offline {name}/cam' OR '1'='1") in _audit(
        catalogue
    )


def test_pages_carry_security_headers(client: TestClient) -> None:
    log_in(client, "vera")
    page = client.get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "<script>" not in page.text  # no inline script anywhere: the CSP would block it
    static = client.get("/static/desk.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"


def test_logins_and_logouts_are_audited(client: TestClient, catalogue: Catalogue) -> None:
    csrf = log_in(client, "ada")
    client.post("/logout", data={"csrf": csrf})
    assert _audit(catalogue)[-2:] == [("ada", "login", "ada"), ("ada", "logout", "ada")]
    assert _audit(catalogue)[0] == ("", "useradd", "vera")


def test_an_oversized_form_is_refused_unread(client: TestClient, catalogue: Catalogue) -> None:
    alarm = add_alarm(catalogue, "gw-1", "gate-1")
    csrf = log_in(client, "ivan")
    huge = {"comment": "x" * 70_000, "csrf": csrf}
    assert client.post(f"/alarms/{alarm}/ack", data=huge).status_code == 413
    token = login_form_token(client)
    big_login = {"name": "ivan", "password": "p" * 70_000, "csrf": token}
    assert client.post("/login", data=big_login).status_code == 413
    assert _acked_by(catalogue, alarm) is None
