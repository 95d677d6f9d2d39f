"""Auto-enrolment's rules and bookkeeping, with a scripted network: who is admitted, as what,
remembered how, and when a camera is found, lost and re-found."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cameras.errors import OnvifAuthError
from cameras.onvif_client import DeviceInfo
from cameras.onvif_replies import MediaProfile
from cameras.wsd import Announcement
from gateway.config import Config, DiscoveryConfig, config_from_mapping
from gateway.daemon.auto_enroll import (
    FOUND,
    LOST,
    MAX_PENDING,
    MAX_QUERIES_PER_ROUND,
    MAX_REMEMBERED,
    REFOUND,
    REPORTS_BURST,
    AutoEnroll,
)
from gateway.daemon.enrollment import refusal_after_query, refusal_before_query
from gateway.daemon.resolver import CameraResolver
from gateway.enrolled import FILE_NAME, Enrolled, EnrolledStore, camera_config, camera_id_for
from tests.gateway.config.sample import FAKE, base

pytestmark = pytest.mark.multicast

POLICY = DiscoveryConfig(None, "127.0.0.1", True, 1.0, "admin", "pw", max_devices=2)


def announced(n: int, host: str = "192.0.2.20", kind: str = "Hello", **kw: Any) -> Announcement:
    xaddrs = () if kind == "Bye" else (f"http://{host}/onvif/device_service",)
    return Announcement(kind, f"urn:uuid:00000000-0000-4000-8000-{n:012d}", xaddrs, **kw)


def device(a: Announcement, serial: str, manufacturer: str = "Acme") -> DeviceInfo:
    profile = MediaProfile("main", "MainStream", "H264", 1280, 720, 25.0)
    return DeviceInfo(
        endpoint=a.endpoint,
        xaddr=a.xaddrs[0],
        manufacturer=manufacturer,
        model="IPC-1",
        firmware="2.0",
        serial=serial,
        hardware_id="",
        profiles=(profile,),
        profile_token="main",
        stream_uri="rtsp://192.0.2.20/main",
        clock_offset_s=0.0,
        name="yard",
    )


def test_camera_id_for() -> None:
    assert camera_id_for("ABC-123", ()) == "ABC-123"
    assert camera_id_for("  ", ()) == "camera"
    assert camera_id_for("a b", ("a-b", "a-b-2")) == "a-b-3"
    assert len(camera_id_for("x" * 200, ())) <= 64


def test_the_allow_list_is_checked_before_credentials_leave() -> None:
    policy = replace(
        POLICY,
        allow_addresses=("192.0.2.0/27",),
        allow_scopes=("onvif://www.onvif.org/location/store",),
        allow_manufacturers=("acme",),
    )
    inside = announced(1, scopes=("onvif://www.onvif.org/location/Store-Room",))
    assert refusal_before_query(policy, inside, 0) is None
    assert "allow_addresses" in str(refusal_before_query(policy, announced(1, "192.0.2.99"), 0))
    assert "allow_addresses" in str(refusal_before_query(policy, announced(1, "cam.lan"), 0))
    assert "allow_scopes" in str(refusal_before_query(policy, announced(1), 0))
    assert "max_devices = 2" in str(refusal_before_query(policy, inside, 2))
    assert refusal_after_query(policy, device(inside, "S1", "ACME")) is None
    assert "allow_manufacturers" in str(refusal_after_query(policy, device(inside, "S1", "Evil")))
    assert "no serial" in str(refusal_after_query(policy, device(inside, "")))


def test_an_enrolled_camera_is_pinned_like_a_configured_one() -> None:
    data = {k: v for k, v in base().items() if k != "cameras"}
    data["discovery"] = {"address": "127.0.0.1", "auto_enroll": True, "username": "u"}
    config: Config = config_from_mapping(data, FAKE)
    a = announced(3)
    entry = Enrolled.of(device(a, "SN 2/B"), ["SN-2-B"])
    camera = camera_config(config, entry)
    assert (camera.id, camera.serial, camera.onvif, camera.onvif_endpoint) == (
        "SN-2-B-2", "SN 2/B", a.xaddrs[0], a.endpoint,
    )  # fmt: skip
    assert (camera.onvif_username, camera.username, camera.segment_seconds) == ("u", "u", 60)
    pin = CameraResolver(camera, config.recording).pin
    assert (pin.xaddr, pin.endpoint, pin.serial) == (a.xaddrs[0], a.endpoint, "SN 2/B")


def test_enrolments_are_remembered_and_a_bad_file_is_set_aside(tmp_path: Path) -> None:
    store = EnrolledStore(tmp_path)
    assert store.load() == []
    first = Enrolled.of(device(announced(1), "S-1"), ())
    store.add(first)
    store.add(Enrolled.of(device(announced(2), "S-2"), ()))
    assert [e.id for e in EnrolledStore(tmp_path).load()] == ["S-1", "S-2"]
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o640  # the evgw group's status
    (tmp_path / FILE_NAME).write_text('{"v": 1, "cameras": [{"id": "../x"}]}')
    assert EnrolledStore(tmp_path).load() == []
    assert (tmp_path / "enrolled.unreadable").exists()
    with pytest.raises(ValueError):
        replace(first, id="../etc")


class Network:
    """A scripted camera network: what a probe finds and what each device answers."""

    def __init__(self) -> None:
        self.present: list[Announcement] = []
        self.devices: dict[str, DeviceInfo] = {}
        self.asked: list[str] = []

    def probe(self) -> list[Announcement]:
        return list(self.present)

    def query(self, a: Announcement) -> DeviceInfo:
        self.asked.append(a.endpoint)
        if a.endpoint not in self.devices:
            raise OnvifAuthError("refused the credentials")
        return self.devices[a.endpoint]

    def add(self, a: Announcement, serial: str, manufacturer: str = "Acme") -> None:
        self.present.append(a)
        self.devices[a.endpoint] = device(a, serial, manufacturer)


class Rig:
    def __init__(self, tmp_path: Path, policy: DiscoveryConfig = POLICY, **kw: Any) -> None:
        self.net = Network()
        self.now = 1000.0
        self.enrolled: list[str] = []
        self.presence: list[tuple[str, str]] = []
        self.refused: list[dict[str, object]] = []
        self.store = EnrolledStore(tmp_path)
        self.auto = AutoEnroll(
            policy,
            self.net,  # type: ignore[arg-type]
            self.store,
            self.net.query,
            lambda e: self.enrolled.append(e.id) is None,
            lambda camera, event, facts: self.presence.append((camera, event)),
            self.refused.append,
            clock=lambda: self.now,
            **kw,
        )


def test_found_lost_and_refound(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    a = announced(1)
    rig.net.add(a, "SN-1")
    rig.auto.round()
    rig.auto.round()
    assert rig.enrolled == ["SN-1"] and rig.presence == [("SN-1", FOUND)]
    assert [e.id for e in rig.store.load()] == ["SN-1"]
    rig.auto.on_announcement(announced(1, kind="Bye"))
    rig.auto.on_announcement(announced(1, kind="Bye"))
    rig.auto.on_announcement(a)
    assert rig.presence[1:] == [("SN-1", LOST), ("SN-1", REFOUND)]
    rig.net.present = []
    rig.now += POLICY.lost_after_s + 1
    rig.auto.round()
    rig.auto.round()
    rig.net.present = [a]
    rig.auto.round()
    assert rig.presence[3:] == [("SN-1", LOST), ("SN-1", REFOUND)]
    assert rig.net.asked == [a.endpoint], "a known camera is not asked again"


def test_the_device_limit_and_the_allow_list_refuse_once(tmp_path: Path) -> None:
    policy = replace(POLICY, allow_manufacturers=("Acme",), allow_addresses=("192.0.2.0/24",))
    rig = Rig(tmp_path, policy)
    rig.net.add(announced(1), "SN-1")
    rig.net.add(announced(4), "OTHER-1", "Evil")
    rig.net.add(announced(3, "198.51.100.9"), "FAR-1")
    rig.net.add(announced(2), "SN-2")
    rig.net.add(announced(5), "SN-5")
    rig.auto.round()
    rig.auto.round()
    assert rig.enrolled == ["SN-1", "SN-2"]
    reasons = [str(f["reason"]) for f in rig.refused]
    assert len(reasons) == 3
    assert "allow_manufacturers" in reasons[0] and "allow_addresses" in reasons[1]
    assert "max_devices = 2" in reasons[2]
    far = announced(3, "198.51.100.9").endpoint
    assert far not in rig.net.asked, "no credentials for a device outside allow_addresses"


def test_hello_of_a_stranger_is_looked_at_and_configured_cameras_are_left_alone(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, configured=[("SN-CONF", None)], taken_ids=["SN-1"])
    known, new, mute = announced(1), announced(2), announced(3)
    rig.net.add(known, "SN-CONF")
    rig.net.add(new, "SN-1")
    rig.net.present = []
    rig.auto.on_announcement(known)
    rig.auto.on_announcement(mute)
    rig.auto.on_announcement(new)
    rig.auto.round()
    rig.auto.round()
    assert rig.enrolled == ["SN-1-2"] and rig.refused == []
    assert rig.net.asked == [known.endpoint, mute.endpoint, new.endpoint]


def test_cameras_enrolled_before_are_lost_only_after_a_while(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    entry = Enrolled.of(device(announced(1), "SN-1"), ())
    rig.auto.remember([entry])
    rig.auto.round()
    assert rig.presence == []
    rig.now += POLICY.lost_after_s + 1
    rig.auto.round()
    assert rig.presence == [("SN-1", LOST)]


def test_more_new_devices_than_one_round_asks_bring_the_next_round_forward(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, replace(POLICY, max_devices=32))
    for n in range(MAX_QUERIES_PER_ROUND + 3):
        rig.net.add(announced(n), f"SN-{n}")
    rig.auto.round()
    assert len(rig.enrolled) == MAX_QUERIES_PER_ROUND and rig.auto._wake.is_set()
    rig.auto._wake.clear()
    rig.auto.round()
    assert len(rig.enrolled) == MAX_QUERIES_PER_ROUND + 3 and not rig.auto._wake.is_set()


def test_a_flood_of_forged_hellos_is_bounded(tmp_path: Path) -> None:
    rig = Rig(tmp_path, replace(POLICY, allow_addresses=("192.0.2.0/24",)))
    for n in range(MAX_PENDING * 3):
        rig.auto.on_announcement(announced(n, "198.51.100.9"))
    rig.auto.round()
    assert rig.enrolled == [] and rig.net.asked == []
    assert len(rig.refused) == REPORTS_BURST, "refusal reports are rate-limited"
    for n in range(MAX_REMEMBERED + 10):
        rig.auto._ignored.add(str(n))
    assert "0" not in rig.auto._ignored and str(MAX_REMEMBERED + 9) in rig.auto._ignored


def test_a_camera_heard_at_another_address_is_remembered_there(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.net.add(announced(1), "SN-1")
    rig.auto.round()
    rig.auto.on_announcement(announced(1, "192.0.2.77"))
    [entry] = rig.store.load()
    assert entry.xaddr == "http://192.0.2.77/onvif/device_service" and rig.presence == [
        ("SN-1", FOUND)
    ]


def test_what_a_device_says_of_itself_is_cut_to_size_and_cleaned() -> None:
    a = announced(1)
    info = replace(device(a, "SN 1"), name="yard\n" + "x" * 500, model="M\x00")
    entry = Enrolled.of(info, ())
    assert (entry.serial, entry.id) == ("SN 1", "SN-1")
    assert "not printable" in str(refusal_after_query(POLICY, device(a, "SN\x1b[31m")))
    assert entry.name.startswith("yard x") and len(entry.name) == 128 and entry.model == "M"


def test_a_camera_a_reload_names_is_handed_over_and_not_enrolled_again(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    a, b = announced(1), announced(2)
    rig.net.add(a, "SN-1")
    rig.net.add(b, "SN-2")
    rig.auto.round()
    assert sorted(e.id for e in rig.auto.enrolled) == ["SN-1", "SN-2"]
    data = {k: v for k, v in base().items() if k != "cameras"}
    data["discovery"] = {"address": "127.0.0.1", "auto_enroll": True}
    config: Config = config_from_mapping(data, FAKE)
    taken = next(e for e in rig.auto.enrolled if e.serial == "SN-1")
    named = replace(camera_config(config, taken), id="yard")
    assert rig.auto.reconfigure([named]) == [taken]
    assert [e.id for e in rig.auto.enrolled] == ["SN-2"]
    rig.now += POLICY.lost_after_s + 1
    rig.auto.round()
    rig.auto.round()
    assert rig.enrolled == ["SN-1", "SN-2"]  # SN-1 not enrolled a second time
    assert ("SN-1", LOST) not in rig.presence
