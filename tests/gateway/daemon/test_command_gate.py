"""The gate's own duties: refusal reports that cannot flood, nonces kept past the skew window,
and a gateway without operators that obeys nobody."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.config import CommandsConfig
from gateway.daemon import commands
from gateway.daemon.command_gate import NONCE_KEEP_S, REPORT_BURST, CommandGate
from segments.index import Index
from segments.signing import Ed25519Signer
from uplink.command_check import Keyring, Verified
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings
from uplink.signed_command import Reason, Refusal, sign_command

OPERATOR = Ed25519Signer(Ed25519PrivateKey.generate())
LIMITS = CommandsConfig(operators=(OPERATOR.public_key_text(),))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def index(tmp_path: Path) -> Any:
    opened = Index.open(tmp_path / "index.sqlite3")
    yield opened
    opened.close()


def gate(index: Index, clock: Clock, events: list[dict[str, Any]], **kw: Any) -> CommandGate:
    limits = CommandsConfig(**{"operators": LIMITS.operators, **kw})
    return CommandGate(
        Keyring.from_texts(limits.operators),
        "gw-test",
        limits,
        index,
        lambda kind, **fields: events.append({"kind": kind, **fields}),
        clock=clock,
        monotonic=clock,
    )


def signed(now: float, signer: Ed25519Signer = OPERATOR) -> bytes:
    command = sign_command(signer, gateway="gw-test", command="rediscover", args={}, now=now)
    return command.to_bytes()


def test_a_flood_of_forgeries_costs_a_bounded_number_of_reports(index: Index) -> None:
    events: list[dict[str, Any]] = []
    clock = Clock(1_800_000_000.0)
    door = gate(index, clock, events)
    stranger = Ed25519Signer(Ed25519PrivateKey.generate())
    for _ in range(1000):
        result = door.admit("rediscover", signed(clock.now, stranger))
        assert isinstance(result, Refusal) and result.reason == Reason.UNKNOWN_KEY
    assert len(events) == REPORT_BURST
    assert events[0] == {
        "kind": "command_refused",
        "command": "rediscover",
        "reason": "unknown_key",
        "key_id": stranger.key_id,
        "detail": events[0]["detail"],
    }
    clock.now += 60
    door.admit("hold", b"{}")
    assert events[-1]["reason"] == "unsigned" and "key_id" not in events[-1]
    assert events[-1]["suppressed"] == 1000 - REPORT_BURST
    assert index.nonce_seen(stranger.key_id, "0" * 32) is False


def test_nonces_outlive_the_skew_window(index: Index) -> None:
    events: list[dict[str, Any]] = []
    clock = Clock(1_800_000_000.0)
    door = gate(index, clock, events, max_skew_s=60.0)
    first = signed(clock.now)
    assert isinstance(door.admit("rediscover", first), Verified)
    clock.now += NONCE_KEEP_S - 120  # the clock stepped; the old nonce is still known
    assert isinstance(door.admit("rediscover", signed(clock.now)), Verified)
    nonce = json.loads(first)["nonce"]
    assert index.nonce_seen(OPERATOR.key_id, nonce)
    clock.now += 240
    assert isinstance(door.admit("rediscover", signed(clock.now)), Verified)
    assert not index.nonce_seen(OPERATOR.key_id, nonce), "pruned once a day has passed"


def test_without_operators_every_command_is_refused_and_the_log_says_so(
    index: Index, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[dict[str, Any]] = []
    door = CommandGate(
        Keyring.from_texts([]),
        "gw-test",
        CommandsConfig(),
        index,
        lambda kind, **fields: events.append(fields),
    )
    link = GatewayLink(MqttSettings(host="127.0.0.1"), "gw-test")
    ctx = commands.CommandContext(index, {}, {}, CommandsConfig(), lambda: None, lambda: None)
    with caplog.at_level(logging.INFO):
        commands.serve(link, door, ctx)
    assert "lists no operator keys: every MQTT command will be refused" in caplog.text
    reply = commands.dispatch(door, ctx, "rediscover", signed(time.time()))
    assert reply["ok"] is False and reply["reason"] == "no_operators"
    assert events[-1]["reason"] == "no_operators"
