"""Commands as the daemon runs them, on a real index and ledger: the reproductions of issue 13.

Each message goes through `commands.dispatch` exactly as the MQTT link hands it over: payload
bytes in, the reply out. What is left behind is read from the index and the signed ledger.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cameras.wsd import Announcement
from gateway.config import CommandsConfig
from gateway.daemon import commands
from gateway.daemon.command_gate import CommandGate
from segments.index import Index
from segments.ledger import LEDGER_NAME, Ledger, read_records
from segments.records import Record, StreamIdentity
from segments.signing import Ed25519Signer
from segments.store import DataDir
from uplink.command_check import Keyring
from uplink.signed_command import sign_command

GATEWAY = "gw-test"
CAMERA = "gate-1"
FOUND = Announcement(
    "ProbeMatch", "urn:uuid:5f5a2d7e-0000-4000-8000-000000000001", ("http://10.0.0.7/onvif",)
)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Site:
    """A gateway's command side: the index, one camera's ledger, the gate, the events."""

    def __init__(self, data_dir: Path, limits: CommandsConfig | None = None) -> None:
        self.data_dir = data_dir
        self.operator = Ed25519Signer(Ed25519PrivateKey.generate())
        self.other = Ed25519Signer(Ed25519PrivateKey.generate())
        texts = [self.operator.public_key_text(), self.other.public_key_text()]
        self.limits = limits or CommandsConfig(operators=tuple(texts))
        self.device = Ed25519Signer(Ed25519PrivateKey.generate())
        self.events: list[dict[str, Any]] = []
        self.rediscovered = 0
        self.discovery_off = False
        self.open()

    def open(self) -> None:
        """(Re)start: a fresh index connection, ledger writer and gate, as after a reboot."""
        self.index = Index.open(DataDir(self.data_dir).index)
        self.ledger = Ledger.open(
            self.stream_dir, CAMERA, GATEWAY, self.device, on_append=self.index.add_record
        )
        identity = StreamIdentity(GATEWAY, "site", "place", CAMERA, "Gate", "boot-1")
        self.gate = CommandGate(
            Keyring.from_texts(self.limits.operators),
            GATEWAY,
            self.limits,
            self.index,
            lambda kind, **fields: self.events.append({"kind": kind, **fields}),
        )
        self.ctx = commands.CommandContext(
            index=self.index,
            ledgers={CAMERA: self.ledger},
            identities={CAMERA: identity},
            limits=self.limits,
            wake_uploads=lambda: None,
            rediscover=self._rediscover,
        )

    def _rediscover(self) -> list[Announcement] | None:
        self.rediscovered += 1
        return None if self.discovery_off else [FOUND]

    def close(self) -> None:
        self.index.close()

    @property
    def stream_dir(self) -> Path:
        return DataDir(self.data_dir).stream(CAMERA)

    def signed(self, name: str, signer: Ed25519Signer | None = None, **args: Any) -> bytes:
        command = sign_command(
            signer or self.operator, gateway=GATEWAY, command=name, args=args, now=time.time()
        )
        return command.to_bytes()

    def send(self, name: str, payload: bytes) -> dict[str, Any]:
        reply = commands.dispatch(self.gate, self.ctx, name, payload)
        json.dumps(reply, allow_nan=False)  # what the link will send
        return reply

    def hold(self, case: str = "2026-001", **args: Any) -> dict[str, Any]:
        now = time.time()
        window = {"camera": CAMERA, "from": iso(now - 600), "to": iso(now + 60), "case": case}
        return self.send("hold", self.signed("hold", **{**window, **args}))

    def active_holds(self) -> list[tuple[Any, ...]]:
        db = self.index._db
        assert db is not None
        return list(db.execute("SELECT id, case_id FROM holds WHERE released IS NULL"))

    def hold_records(self) -> list[Record]:
        if not (self.stream_dir / LEDGER_NAME).is_file():
            return []
        return [r for r in read_records(self.stream_dir) if r.kind == "hold"]


@pytest.fixture
def site(tmp_path: Path) -> Any:
    s = Site(tmp_path / "data")
    yield s
    s.close()


# -- reproductions: what anyone on the broker could do -----------------------------------------


def test_unsigned_commands_change_nothing(site: Site) -> None:
    held = site.hold()
    assert held["ok"] is True
    now = time.time()
    window = {"camera": CAMERA, "from": iso(now - 600), "to": iso(now + 60)}
    attacks = [
        ("hold", {**window, "case": "X" * 60_000}, "malformed"),  # larger than any envelope
        ("hold", {**window, "case": "X" * 4_000}, "unsigned"),
        ("release", {"hold_id": held["hold_id"]}, "unsigned"),
        ("upload-priority", window, "unsigned"),
        ("rediscover", {}, "unsigned"),
    ]
    for name, args, reason in attacks:
        reply = site.send(name, json.dumps(args).encode())
        assert reply["ok"] is False and reply["reason"] == reason, reply
    assert site.active_holds() == [(held["hold_id"], "2026-001")]
    assert [r.reason for r in site.hold_records()] == ["hold"]
    assert site.rediscovered == 0
    refused = [e for e in site.events if e["kind"] == "command_refused"]
    assert [(e["command"], e["reason"]) for e in refused] == [(n, r) for n, _, r in attacks]


@pytest.mark.parametrize(
    "to", ["9999-12-31T23:00:00-14:00", "9999-12-31T23:00:00+14:00", "9999-12-31T23:59:59Z"]
)
@pytest.mark.parametrize("start", ["now", "9999-12-30T00:00:00Z"])
def test_a_hold_until_the_year_9999_leaves_no_hold(site: Site, to: str, start: str) -> None:
    args = {"to": to} if start == "now" else {"to": to, "from": start}
    reply = site.hold(**args)
    assert reply["ok"] is False and "'to'" in reply["error"], reply
    assert site.active_holds() == [] and site.hold_records() == []


def test_a_hold_whose_record_cannot_be_written_is_not_active(site: Site) -> None:
    """Ledger first, index second: no hold without its signed record."""
    site.hold()  # the ledger exists
    (site.stream_dir / LEDGER_NAME).rename(site.stream_dir / "ledger.moved")
    (site.stream_dir / LEDGER_NAME).mkdir()  # every append now fails
    reply = site.hold(case="2026-002")
    assert reply["ok"] is False and "cannot append" in reply["error"], reply
    assert [case for _, case in site.active_holds()] == ["2026-001"]


def test_a_flood_from_one_operator_is_rate_limited(tmp_path: Path) -> None:
    site = Site(tmp_path / "data")
    site.limits = replace(site.limits, rate_per_minute=1, burst=3)
    site.close()
    site.open()
    try:
        replies = [site.hold(case=f"flood-{i}") for i in range(10)]
        assert [r["ok"] for r in replies] == [True] * 3 + [False] * 7
        assert {r.get("reason") for r in replies[3:]} == {"rate_limited"}
        assert len(site.hold_records()) == 3 and len(site.active_holds()) == 3
        other = site.send("rediscover", site.signed("rediscover", site.other))
        assert other["ok"] is True, "another operator is not held back"
    finally:
        site.close()


# -- signed commands: recorded, bounded ---------------------------------------------------------


def test_hold_and_release_records_name_the_operators(site: Site) -> None:
    held = site.hold()
    released = site.send("release", site.signed("release", site.other, hold_id=held["hold_id"]))
    assert released["ok"] is True and site.active_holds() == []
    hold, release = site.hold_records()
    assert (hold.reason, release.reason) == ("hold", "release")
    assert hold.extra["operator"] == site.operator.key_id and hold.sig
    assert release.extra["operator"] == site.other.key_id
    assert hold.extra["hold_id"] == release.extra["hold_id"] == held["hold_id"]
    assert hold.extra["case"] == release.extra["case"] == "2026-001"
    assert held["nonce"] == hold.extra["nonce"] and len(hold.extra["issued"]) == 24
    assert held["record_seq"] == hold.seq and released["record_seq"] == release.seq
    done = [e for e in site.events if e["kind"] == "command_done"]
    assert [(e["command"], e["key_id"], e["ok"]) for e in done] == [
        ("hold", site.operator.key_id, True),
        ("release", site.other.key_id, True),
    ]


def test_release_needs_an_active_hold(site: Site) -> None:
    held = site.hold()
    assert site.send("release", site.signed("release", hold_id=held["hold_id"]))["ok"] is True
    for hold_id in (held["hold_id"], 999, 0, True, "1"):
        reply = site.send("release", site.signed("release", hold_id=hold_id))
        assert reply["ok"] is False, hold_id
    assert [r.reason for r in site.hold_records()] == ["hold", "release"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"case": "X" * 65}, "'case' must be at most 64"),
        ({"case": "   "}, "'case' must be the case number"),
        ({"case": 7}, "'case' must be the case number"),
        ({"camera": "gate-9"}, "'camera' must be one of"),
        ({"from": "2020-01-01T00:00:00Z"}, "longer than 31 days"),
        ({"from": "yesterday"}, "is not an ISO 8601 time"),
        ({"to": "2026-11-27T14:00:00"}, "has no UTC offset"),
        ({"note": "x"}, "unknown argument 'note'"),
    ],
)
def test_hold_arguments_are_bounded(site: Site, args: dict[str, Any], error: str) -> None:
    reply = site.hold(**args)
    assert reply["ok"] is False and error in reply["error"], reply
    assert site.active_holds() == [] and site.hold_records() == []
    assert site.events[-1]["kind"] == "command_done" and site.events[-1]["ok"] is False


def test_a_replay_is_refused_after_a_restart(site: Site) -> None:
    payload = site.signed("rediscover")
    assert site.send("rediscover", payload)["ok"] is True
    site.close()
    site.open()
    reply = site.send("rediscover", payload)
    assert reply["ok"] is False and reply["reason"] == "replayed"
    assert site.rediscovered == 1


def test_upload_priority_and_rediscover(site: Site) -> None:
    now = time.time()
    window: dict[str, Any] = {"camera": CAMERA, "from": iso(now - 600), "to": iso(now)}
    reply = site.send("upload-priority", site.signed("upload-priority", **window))
    assert reply == {"ok": True, "camera": CAMERA, "queued_first": 0, "nonce": reply["nonce"]}
    assert site.send("rediscover", site.signed("rediscover", extra=1))["ok"] is False
    reply = site.send("rediscover", site.signed("rediscover"))
    assert reply["ok"] is True and site.rediscovered == 1
    assert reply["found"] == 1 and reply["cameras"] == [
        {"endpoint": FOUND.endpoint, "xaddrs": list(FOUND.xaddrs)}
    ]


def test_rediscover_says_when_discovery_is_off(site: Site) -> None:
    site.discovery_off = True
    reply = site.send("rediscover", site.signed("rediscover"))
    assert reply["ok"] is False and "discovery is off" in reply["error"], reply
