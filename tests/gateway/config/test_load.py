"""Loading a file: the shipped demo loads, file-level errors, rules across keys, fuzzing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evgw.config.problems import ConfigProblems
from evgw.errors import ConfigError, EvgwError
from gateway.cli.demo import load_demo_config, prepare_keys
from gateway.config import (
    CameraConfig,
    Config,
    DiscoveryConfig,
    LocationConfig,
    RecordingConfig,
    config_from_mapping,
    load_config,
    parse_config,
)
from tests.gateway.config.sample import (
    CONFIG_DIR,
    FAKE,
    RECIPIENT,
    VALID_TEXT,
    base,
    error_of,
    with_camera,
    with_section,
)

# -- shipped demo ----------------------------------------------------------------------------


def test_demo_loads(tmp_path: Path) -> None:
    copy_ = tmp_path / "config" / "demo.toml"
    copy_.parent.mkdir()
    copy_.write_bytes((CONFIG_DIR / "demo.toml").read_bytes())
    assert prepare_keys(copy_).exists()
    config = load_demo_config(copy_)
    assert config.keys.signing_key.exists()
    assert len(config.keys.recipients) == 1
    assert config.gateway.id == "gw-demo"
    assert config.gateway.site == "演示检查站"
    assert config.gateway.timezone == "Asia/Shanghai"
    assert config.gateway.data_dir == tmp_path / "demo-data"
    assert config.location.name == "演示检查站 一号卡口"
    assert config.recording.segment_seconds == 10
    gate, store = config.cameras
    assert (gate.id, gate.name, gate.serial, gate.overlay) == (
        "gate-1",
        "一号卡口",
        "EVGW-DEMO-0001",
        "burn_in",
    )
    assert (store.id, store.name, store.serial, store.overlay) == (
        "store-1",
        "涉案物品库房",
        "EVGW-DEMO-0002",
        "passthrough",
    )
    assert store.segment_seconds == 10
    assert config.discovery.address == "127.0.0.1"
    assert config.upload is not None and config.upload.store.endpoint_url == "http://127.0.0.1:8333"


# -- defaults and resolution -----------------------------------------------------------------


def test_defaults_and_camera_resolution() -> None:
    config = config_from_mapping(base(), FAKE)
    assert isinstance(config, Config)
    assert config.path == FAKE
    assert config.gateway.timezone == "UTC"
    assert config.location == LocationConfig("某某检查站 一号卡口", None, None)
    assert config.recording == RecordingConfig(
        60, "burn_in", "libx264", "", "veryfast", 23, 10.0, 5.0
    )
    camera = config.cameras[0]
    assert camera == CameraConfig(
        id="gate-1",
        name="gate-1",
        rtsp="rtsp://127.0.0.1:8554/cam1",
        username=None,
        password=None,
        location="某某检查站 一号卡口",
        overlay="burn_in",
        segment_seconds=60,
        enabled=True,
    )


def test_camera_overrides() -> None:
    data = with_camera(
        name="一号卡口",
        location="库房",
        overlay="passthrough",
        segment_seconds=30,
        enabled=False,
        username="admin",
        password="s3cret",
    )
    data["recording"] = {"segment_seconds": 600, "open_timeout_s": 3}
    config = config_from_mapping(data, FAKE)
    first, second = config.cameras
    assert (first.name, first.location, first.overlay, first.segment_seconds) == (
        "一号卡口",
        "库房",
        "passthrough",
        30,
    )
    assert (first.enabled, first.username, first.password) == (False, "admin", "s3cret")
    assert second.segment_seconds == 600
    assert config.recording.open_timeout_s == 3.0
    assert isinstance(config.recording.open_timeout_s, float)


@pytest.mark.parametrize("data_dir", ["../data", "data", "~/evgw", "~evgw/data"])
def test_data_dir_must_be_absolute_never_relative_nor_tilde(data_dir: str) -> None:
    message = error_of(with_section("gateway", data_dir=data_dir))
    assert message.startswith(f"{FAKE}: [gateway] data_dir: must be an absolute path, got ")
    assert "write the full path" in message


def test_site_with_a_slash_is_refused() -> None:
    message = error_of(with_section("gateway", site="某某/检查站"))
    assert message.startswith(f"{FAKE}: [gateway] site: must not contain '/'")


def test_every_problem_is_reported_not_only_the_first() -> None:
    data = with_section("gateway", site="a/b", data_dir="rel", timezone="Mars/Base")
    data["recording"] = {"crf": 99, "segmnet_seconds": 30}
    data["location"] = {}
    data["cameras"].append({"id": "gate-3", "rtsp": "http://x"})
    data["cameras"].append({"id": "gate-1", "rtsp": "rtsp://127.0.0.1/dup"})
    with pytest.raises(ConfigProblems) as info:
        config_from_mapping(data, FAKE)
    assert [line.removeprefix(f"{FAKE}: ").split(":")[0] for line in info.value.problems] == [
        "[gateway] site",
        "[gateway] data_dir",
        "[gateway] timezone",
        "[location] name",
        "[recording] segmnet_seconds",
        "[recording] crf",
        "cameras[2].rtsp",
        "cameras[3].id",
    ]


# -- file-level errors -----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: cannot read configuration file: No such file or directory; "
        "check the path and permissions"
    )
    assert isinstance(info.value, EvgwError)


def test_unreadable_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file: Is a directory"):
        load_config(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    path.write_bytes(VALID_TEXT.encode("gb18030"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not valid UTF-8")):
        load_config(path)


def test_file_loads_and_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID_TEXT.encode("utf-8"))
    assert load_config(path).gateway.data_dir == Path("/var/lib/evgw")


def test_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    path.write_text(VALID_TEXT.replace('site = "某某检查站"', "site = "), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: TOML syntax error: Invalid value (at line 3, column 8)"


def test_deep_nesting_is_config_error() -> None:
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_config("a = " + "[" * 5000, FAKE)


# -- rules across keys and entries -----------------------------------------------------------


NO_CAMERA = (
    "cameras: no camera to record: add a [[cameras]] table, or set [discovery] auto_enroll = "
    "true (with interface or address) to record the cameras found on the network"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            with_section("location", lat=31.2),
            "[location] lon: missing; lat and lon go together (set both or neither)",
        ),
        (
            with_section("location", lon=121.5),
            "[location] lat: missing; lon and lat go together (set both or neither)",
        ),
        ({**base(), "cameras": []}, NO_CAMERA),
        ({k: v for k, v in base().items() if k != "cameras"}, NO_CAMERA),
        (
            {**base(), "cameras": {"id": "gate-1"}},
            "cameras: must be an array of tables ([[cameras]]), got table {'id': 'gate-1'}",
        ),
        (
            {**base(), "cameras": ["gate-1"]},
            "cameras[0]: must be a table ([[cameras]]), got 'gate-1'",
        ),
    ],
)
def test_cross_key_errors(data: dict[str, Any], expected: str) -> None:
    assert error_of(data) == f"{FAKE}: {expected}"


def test_duplicate_camera_id() -> None:
    data = base()
    data["cameras"].append({"id": "gate-1", "rtsp": "rtsps://10.0.0.9/x"})
    assert error_of(data) == (
        f"{FAKE}: cameras[2].id: duplicate camera id 'gate-1' (also cameras[0])"
    )


def test_bad_url_scheme_in_second_camera_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    text = VALID_TEXT + '\n[[cameras]]\nid = "gate-2"\nrtsp = "http://x"\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: cameras[1].rtsp: must be an rtsp:// or rtsps:// URL, got 'http://x'"
    )


# -- fuzzing: only ConfigError escapes -------------------------------------------------------

toml_scalars = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
key_names = st.sampled_from(
    [
        "id",
        "site",
        "data_dir",
        "timezone",
        "name",
        "lat",
        "lon",
        "segment_seconds",
        "overlay",
        "encoder",
        "preset",
        "crf",
        "open_timeout_s",
        "read_timeout_s",
        "rtsp",
        "username",
        "password",
        "password_file",
        "location",
        "enabled",
        "onvif",
        "serial",
        "profile",
        "onvif_username",
        "interface",
        "address",
        "auto_enroll",
        "gateway",
        "recording",
        "cameras",
    ]
) | st.text(max_size=10)


def _accepts(run: Any) -> None:
    try:
        result = run()
    except ConfigError:
        return
    assert isinstance(result, Config)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_only_raises_config_error(text: str) -> None:
    _accepts(lambda: parse_config(text, FAKE))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_text_only_raises_config_error(data: st.DataObject) -> None:
    text = VALID_TEXT
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(st.text(max_size=6)) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 8)) :]
    _accepts(lambda: parse_config(text, FAKE))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["", "gateway", "location", "recording", "cameras", "discovery"]),
    key_names,
    toml_values,
)
def test_arbitrary_values_only_raise_config_error(section: str, key: str, value: Any) -> None:
    data = base()
    if section == "":
        data[key] = value
    elif section == "cameras":
        data["cameras"][0][key] = value
    else:
        data.setdefault(section, {})[key] = value
    _accepts(lambda: config_from_mapping(data, FAKE))


# -- keys ------------------------------------------------------------------------------------


def test_age_identity_in_config_is_refused() -> None:
    text = VALID_TEXT + "\n# AGE-SECRET-KEY-1QQQQ pasted by mistake\n"
    with pytest.raises(ConfigError, match="no decryption key may live on the gateway"):
        parse_config(text, FAKE)


def test_no_recipient_is_an_error() -> None:
    message = error_of(with_section("keys", recipients=[]))
    assert "[keys] recipients" in message and "evgw keygen --archive" in message


def test_recipients_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "recipients.txt").write_text(f"# archive\n{RECIPIENT}\n")
    data = with_section("keys", recipients=[], recipients_file="recipients.txt")
    config = config_from_mapping(data, tmp_path / "evgw.toml")
    assert config.keys.recipients == (RECIPIENT,)


# -- discovery and ONVIF cameras -------------------------------------------------------------

ONVIF_URL = "http://192.0.2.10/onvif/device_service"


def test_discovery_defaults_off() -> None:
    config = config_from_mapping(base(), FAKE)
    assert config.discovery == DiscoveryConfig(None, None, False, 3.0, None, None)
    assert not config.discovery.enabled
    assert config.cameras[0].onvif is None and not config.cameras[0].uses_onvif


def test_onvif_camera_credentials_fall_back_camera_then_discovery(tmp_path: Path) -> None:
    (tmp_path / "onvif.pass").write_text("from-file\n", encoding="utf-8")
    data = base()
    data["discovery"] = {
        "address": "127.0.0.1",
        "username": "disco",
        "password_file": "onvif.pass",
        "auto_enroll": True,
    }
    data["cameras"] = [
        {"id": "a", "onvif": ONVIF_URL, "profile": "MainStream"},
        {"id": "b", "serial": "SN-1", "username": "cam", "password": "cam-pw"},
        {"id": "c", "serial": "SN-2", "onvif_username": "o", "onvif_password": "o-pw"},
    ]
    config = config_from_mapping(data, tmp_path / "evgw.toml")
    assert config.discovery.enabled and config.discovery.auto_enroll
    a, b, c = config.cameras
    assert (a.rtsp, a.onvif, a.profile, a.uses_onvif) == (None, ONVIF_URL, "MainStream", True)
    assert (a.onvif_username, a.onvif_password) == ("disco", "from-file")
    assert (a.username, a.password) == ("disco", "from-file")  # RTSP defaults to ONVIF's
    assert (b.onvif_username, b.onvif_password, b.username) == ("cam", "cam-pw", "cam")
    assert (c.onvif_username, c.onvif_password, c.username, c.password) == (
        "o",
        "o-pw",
        "o",
        "o-pw",
    )
    assert "from-file" not in repr(config) and "o-pw" not in repr(config)


def test_rtsp_camera_ignores_discovery_credentials() -> None:
    data = with_section("discovery", address="127.0.0.1", username="u", password="p")
    camera = config_from_mapping(data, FAKE).cameras[0]
    assert (camera.username, camera.onvif_username, camera.onvif_password) == (None, None, None)


def _onvif_camera(**entry: Any) -> dict[str, Any]:
    data = base()
    data["cameras"][0] = {"id": "gate-1", **entry}
    return data


def _discovery(camera: dict[str, Any] | None = None, **section: Any) -> dict[str, Any]:
    data = base() if camera is None else _onvif_camera(**camera)
    data["discovery"] = section
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            with_camera(onvif=ONVIF_URL),
            "cameras[0]: set exactly one of rtsp (a stream URL), onvif (the camera's ONVIF "
            "device service URL) or serial (a camera found by discovery) (got rtsp, onvif)",
        ),
        (
            _onvif_camera(onvif="rtsp://192.0.2.10/onvif"),
            "cameras[0].onvif: must be an http:// or https:// URL without credentials, "
            "got 'rtsp://192.0.2.10/onvif'",
        ),
        (
            with_camera(profile="main"),
            "cameras[0].profile: only applies to cameras set by onvif or serial, not rtsp",
        ),
        (
            _onvif_camera(onvif=ONVIF_URL, onvif_password="x"),
            "cameras[0].onvif_username: missing; onvif_password needs onvif_username",
        ),
        (
            _onvif_camera(onvif=ONVIF_URL, onvif_password="x", onvif_password_file="/p"),
            "cameras[0].onvif_password_file: set either onvif_password or onvif_password_file, "
            "not both",
        ),
        (
            _onvif_camera(serial="SN-1"),
            "cameras[0].serial: finding a camera by serial needs the camera network: set "
            "[discovery] interface (e.g. eth1) or address",
        ),
        (
            _discovery({"serial": " "}, address="127.0.0.1"),
            "cameras[0].serial: must be the camera's serial number (1-128 characters), got ' '",
        ),
        (
            _discovery(interface="eth1", address="192.0.2.1"),
            "[discovery] address: set either interface or address, not both",
        ),
        (
            _discovery(address="eth1"),
            "[discovery] address: must be an IPv4 address such as 192.0.2.1, got 'eth1'",
        ),
        (
            _discovery(interface="eth 1"),
            "[discovery] interface: must be a network interface name such as eth1, got 'eth 1'",
        ),
        (
            _discovery(auto_enroll=True),
            "[discovery] auto_enroll: needs the camera network: set interface (e.g. eth1) "
            "or address",
        ),
        (
            _discovery(address="127.0.0.1", probe_timeout_s=0),
            "[discovery] probe_timeout_s: must be between 0.5 and 30, got 0",
        ),
        (
            _discovery(address="127.0.0.1", password="p"),
            "[discovery] username: missing; a password needs a username",
        ),
        (
            _discovery(adress="127.0.0.1"),
            "[discovery] adress: unknown key (did you mean address?)",
        ),
    ],
)
def test_discovery_and_onvif_errors(data: dict[str, Any], expected: str) -> None:
    assert error_of(data) == f"{FAKE}: {expected}"


def test_duplicate_serial() -> None:
    data = _discovery({"serial": "SN-1"}, address="127.0.0.1")
    data["cameras"][1] = {"id": "gate-2", "serial": "SN-1"}
    assert (
        error_of(data)
        == f"{FAKE}: cameras[1].serial: duplicate camera serial 'SN-1' (also cameras[0])"
    )


def test_onvif_error_in_file_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    text = VALID_TEXT + '\n[[cameras]]\nid = "gate-2"\nonvif = "ftp://x"\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: cameras[1].onvif: must be an http:// or https:// URL without credentials, "
        "got 'ftp://x'"
    )


# -- camera trust: stream hosts, certificates, Basic auth, camera drift -----------------------

FINGERPRINT = "AB:" * 31 + "CD"


def test_camera_trust_keys_are_read(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    data = base()
    data["recording"] = {"max_camera_drift_s": 5.0}
    data["cameras"] = [
        {
            "id": "cam-a",
            "onvif": "https://10.0.0.5/onvif/device_service",
            "stream_hosts": ["NVR.local", "[2001:db8::1]", "10.0.0.30"],
            "onvif_ca_file": str(ca),
            "onvif_cert_sha256": FINGERPRINT,
            "allow_basic_auth": True,
        },
        {"id": "cam-b", "rtsp": "rtsp://10.0.0.6/s", "allow_basic_auth": True},
        {"id": "cam-c", "rtsp": "rtsp://10.0.0.7/s"},
    ]
    config = config_from_mapping(data, FAKE)
    a, b, c = config.cameras
    assert a.stream_hosts == ("nvr.local", "2001:db8::1", "10.0.0.30")
    assert a.onvif_ca_file == ca and a.onvif_cert_sha256 == "ab" * 31 + "cd"
    assert (a.allow_basic_auth, b.allow_basic_auth, c.allow_basic_auth) == (True, True, False)
    assert config.recording.max_camera_drift_s == 5.0
    assert c.stream_hosts == () and c.onvif_cert_sha256 is None


@pytest.mark.parametrize(
    ("camera", "expected"),
    [
        (
            {"rtsp": "rtsp://10.0.0.6/s", "stream_hosts": ["10.0.0.7"]},
            "cameras[0].stream_hosts: only applies to cameras set by onvif or serial, not rtsp",
        ),
        (
            {"onvif": "http://10.0.0.5/o", "stream_hosts": ["bad host!"]},
            "cameras[0].stream_hosts: must be host names or IP addresses, got 'bad host!'",
        ),
        (
            {"onvif": "https://10.0.0.5/o", "onvif_cert_sha256": "abc"},
            "cameras[0].onvif_cert_sha256: must be a certificate's SHA-256 fingerprint "
            "(64 hex digits, colons allowed), got 3 characters",
        ),
        (
            {"onvif": "https://10.0.0.5/o", "onvif_ca_file": "/nonexistent-evgw/ca.pem"},
            "cameras[0].onvif_ca_file: no such file: /nonexistent-evgw/ca.pem",
        ),
    ],
)
def test_camera_trust_key_errors(camera: dict[str, Any], expected: str) -> None:
    data = base()
    data["cameras"] = [{"id": "cam-a", **camera}]
    assert error_of(data) == f"{FAKE}: {expected}"


def test_max_camera_drift_bounds() -> None:
    assert "max_camera_drift_s" in error_of(with_section("recording", max_camera_drift_s=0.1))


def test_unknown_encoder_is_refused_with_its_key() -> None:
    error = error_of(with_section("recording", encoder="h264_foo"))
    assert "[recording] encoder:" in error and "h264_vaapi" in error, error


# --- auto-enrolment ---------------------------------------------------------------------------


def test_auto_enroll_needs_no_camera_table() -> None:
    data = {k: v for k, v in base().items() if k != "cameras"}
    data["discovery"] = {
        "address": "127.0.0.1",
        "auto_enroll": True,
        "allow_addresses": ["127.0.0.0/8"],
        "allow_manufacturers": ["Acme"],
        "max_devices": 4,
    }
    config = config_from_mapping(data, FAKE)
    d = config.discovery
    assert config.cameras == () and d.auto_enroll
    assert (d.max_devices, d.allow_addresses, d.allow_manufacturers) == (
        4, ("127.0.0.0/8",), ("Acme",),
    )  # fmt: skip
    assert (d.allow_scopes, d.rescan_interval_s, d.lost_after_s) == ((), 60.0, 300.0)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("allow_addresses", ["10.0.0.0/33"], "not a network: '10.0.0.0/33'"),
        ("max_devices", 0, "max_devices"),
        ("allow_scopes", "onvif://x", "must be an array of strings"),
        ("lost_after_s", 30, "must be longer than rescan_interval_s (60)"),
    ],
)
def test_bad_discovery_keys_name_file_and_key(key: str, value: Any, reason: str) -> None:
    data = base()
    data["discovery"] = {"address": "127.0.0.1", "auto_enroll": True, key: value}
    message = error_of(data)
    assert message.startswith(f"{FAKE}: [discovery] {key}: ") and reason in message
